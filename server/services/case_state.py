"""What a step leaves in a case, and the case's variables read back.

Every service that steps a case (starting it, completing a task, firing a timer, staging items,
terminating) audits what the engine did with :func:`record_step_events`; pages and services
read where a case stands with :func:`live_data`. Below :mod:`server.services.cases` so those
services need not import the case use cases.
"""

from __future__ import annotations

import json
from typing import Any

from server.engine import clock
from server.engine.runtime import HumanTask, StepResult
from server.models import Case
from server.models.audit import TASK_CREATED, TASKS_CREATED, fan_out_payload
from server.services.audit import record_event
from server.services.clock_pauses import record_clock_events
from server.services.notifications import notify_new_tasks
from server.services.store import case_store

# credit_code: the case list's search box finds a case by the enterprise's credit code.
SUMMARY_KEYS = ("project_name", "enterprise_name", "credit_code", "industry", "investment_wan",
                "area", "case_outcome")


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def summary_of(data: dict[str, Any]) -> dict[str, Any]:
    summary = {k: data[k] for k in SUMMARY_KEYS if k in data}
    items = data.get("items")
    if isinstance(items, list):
        summary["item_count"] = len(items)
    written: dict[str, Any] = jsonable(summary)
    return written


def record_step_events(case: Case, result: StepResult, *, actor: str | None) -> None:
    """Audit what the engine did on its own in a step: tasks opened or cancelled, the end.

    Tasks of one element opened together (a multi-instance fan-out) are one ``tasks_created``
    event listing them; a task opened alone is a ``task_created`` event, as it always was.
    """
    for same in _fan_outs([h for h in result.human if h.state in ("ready", "cancelled")]):
        first = same[0]
        if first.state == "cancelled":
            record_event(case, "task_cancelled", actor=actor, task_id=first.id,
                         element_id=first.element_id, element_name=first.name)
        elif len(same) == 1:
            record_event(case, TASK_CREATED, actor=actor, task_id=first.id,
                         element_id=first.element_id, element_name=first.name,
                         payload=_opened(first))
        else:
            record_event(case, TASKS_CREATED, actor=actor, element_id=first.element_id,
                         element_name=first.name,
                         payload=fan_out_payload([(h.id, _opened(h)) for h in same]))
    for event in result.events:
        record_event(case, "bpmn_event_thrown", actor=actor, payload=jsonable(event))
    # A supplement request stops the item's clock and the returned materials restart it.
    record_clock_events(case, result, actor=actor)
    if result.completed and case.status == "running":
        case.status = str(result.data.get("case_outcome") or "completed")
        case.ended_at = clock.now()
        record_event(case, "case_ended", actor=actor, payload={"status": case.status})
    case.summary = json.dumps(summary_of(result.data), ensure_ascii=False)
    # New tasks' notices commit with the step; their mail is sent after the commit.
    notify_new_tasks(case, result.human)


def _opened(human: HumanTask) -> dict[str, Any]:
    # Assignee and due time only when the task has them (absent means none).
    opened: dict[str, Any] = {"candidate_groups": human.candidate_groups}
    if human.assignee is not None:
        opened["assignee"] = human.assignee
    if human.due_at is not None:
        opened["due_at"] = human.due_at.isoformat()
    return opened


def _fan_outs(humans: list[HumanTask]) -> list[list[HumanTask]]:
    """The step's tasks in order, each run of tasks of one element opened one after another
    together (only neighbours: the events keep the order the engine reported, which
    re-execution compares); every cancellation on its own."""
    runs: list[list[HumanTask]] = []
    for human in humans:
        last = runs[-1][-1] if runs else None
        if (human.state == "ready" and last is not None and last.state == "ready"
                and (last.element_id, last.name) == (human.element_id, human.name)):
            runs[-1].append(human)
        else:
            runs.append([human])
    return runs


def case_data(case: Case) -> dict[str, Any]:
    """The case's current variables, from its live workflow."""
    store = case_store()
    with store.reading(case) as runtime:  # not while another thread steps the case
        data: dict[str, Any] = jsonable(store.engine.case_data(runtime))
    return data


def live_data(case: Case) -> dict[str, Any]:
    """The variables where the case stands now, including those of the service sub-process
    (the plan's items and timetable, the one-time notice) before it ends."""
    store = case_store()
    with store.reading(case) as runtime:
        data: dict[str, Any] = jsonable(store.engine.scope_data(runtime))
    return data
