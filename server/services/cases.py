"""Starting cases and reading them back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import exists, select

from server.engine import clock
from server.engine.errors import ScriptError
from server.engine.runtime import StepResult
from server.extensions import db
from server.models import AuditEvent, Case, Deployment, Enterprise, User, WorkItem
from server.services import access
from server.services.audit import record_event
from server.services.clock_pauses import record_clock_events
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError
from server.services.forms import form_registry
from server.services.notifications import notify_new_tasks
from server.services.processes import get_deployment, latest_deployment
from server.services.store import case_store

# credit_code: the case list's search box finds a case by the enterprise's credit code.
SUMMARY_KEYS = ("project_name", "enterprise_name", "credit_code", "industry", "investment_wan",
                "area", "case_outcome")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def summary_of(data: dict[str, Any]) -> dict[str, Any]:
    summary = {k: data[k] for k in SUMMARY_KEYS if k in data}
    items = data.get("items")
    if isinstance(items, list):
        summary["item_count"] = len(items)
    return _jsonable(summary)


def record_step_events(case: Case, result: StepResult, *, actor: str | None) -> None:
    """Audit what the engine did on its own in a step: tasks opened or cancelled, the end."""
    for human in result.human:
        if human.state == "ready":
            record_event(case, "task_created", actor=actor, task_id=human.id,
                         element_id=human.element_id, element_name=human.name,
                         payload={"candidate_groups": human.candidate_groups,
                                  "assignee": human.assignee,
                                  "due_at": human.due_at.isoformat() if human.due_at else None})
        elif human.state == "cancelled":
            record_event(case, "task_cancelled", actor=actor, task_id=human.id,
                         element_id=human.element_id, element_name=human.name)
    for event in result.events:
        record_event(case, "bpmn_event_thrown", actor=actor, payload=_jsonable(event))
    # A supplement request stops the item's clock and the returned materials restart it.
    record_clock_events(case, result, actor=actor)
    if result.completed and case.status == "running":
        case.status = str(result.data.get("case_outcome") or "completed")
        case.ended_at = clock.now()
        record_event(case, "case_ended", actor=actor, payload={"status": case.status})
    case.summary = json.dumps(summary_of(result.data), ensure_ascii=False)
    # New tasks' notices commit with the step; their mail is sent after the commit.
    notify_new_tasks(case, result.human)


def _check_instance_counts(data: dict[str, Any], cap: int) -> None:
    """Refuse a start whose lists would fan out wider than the county allows."""
    errors = {key: [f"{len(value)} 项，超过本县设置的上限 {cap} 项 / {len(value)} entries; "
                    f"the county's limit is {cap} (GUANJIA_MAX_INSTANCES)"]
              for key, value in data.items() if isinstance(value, list) and len(value) > cap}
    if errors:
        raise ValidationFailedError(f"the case would run more than {cap} parallel items",
                                    errors)


def start_case(user: User, process_id: str, data: dict[str, Any], *,
               deployment_number: int | None = None, for_enterprise: Enterprise | None = None,
               also: Callable[[Case], None] | None = None) -> Case:
    """Start a case on the newest deployment of ``process_id`` (or the one named).

    ``for_enterprise``: the bureau or window files for that enterprise, which owns the case as
    if it had applied itself; ``also`` writes the caller's own rows and audit events in the
    same transaction (``server.services.filing``).

    Raises ``NotFoundError`` (no such process or version), ``ValidationFailedError`` (start
    form), ``PermissionDeniedError`` (the user may not apply).
    """
    deployment: Deployment | None
    if deployment_number is not None:
        deployment = get_deployment(deployment_number)
        if process_id not in {d.process_id for d in deployment.definitions}:
            raise NotFoundError(f"process {process_id!r} is not in version {deployment_number}")
    else:
        deployment = latest_deployment(process_id)
    if deployment is None:
        raise NotFoundError(f"process {process_id!r} is not deployed")
    store = case_store()
    spec_set = store.spec_set(deployment)
    form_key = spec_set.start_forms.get(process_id)
    if form_key:
        data = form_registry().get(form_key, deployment_id=deployment.id).validate(data)
    prepare = current_app.extensions.get("guanjia.prepare_case_data")
    if prepare is not None:
        data = prepare(data)
    _check_instance_counts(data, current_app.config["GUANJIA"].max_instances)
    if not user.in_group("enterprise", "bureau", "window", "admin"):
        raise PermissionDeniedError("only an enterprise or the bureau/window can start a case")
    # 项目代码 and the project's facts: refused field by field before anything is written.
    from server.services.projects import check_facts, record_from_application

    facts = check_facts(data)
    now = clock.now()
    case = Case(
        id=str(uuid.uuid4()),
        reference=f"GJ-{now:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}",
        deployment_id=deployment.id, process_id=process_id,
        title=str(data.get("project_name") or spec_set.names.get(process_id, process_id)),
        enterprise_id=for_enterprise.id if for_enterprise is not None else user.enterprise_id,
        area=str(data.get("area") or user.area or ""),
        started_by=user.username, started_at=now,
    )
    from server.engine.scripting import counting_for
    from server.services.calendar import default_county, require_county

    county = str(data.get("county") or "") or None
    if county is not None:
        require_county(county)
    case.county = county
    try:
        with counting_for(county or default_county()):
            runtime, result = store.engine.start(spec_set, process_id, data)
    except ScriptError as exc:
        raise ValidationFailedError(f"the case could not start: {exc}",
                                    {"_process": [str(exc)]}) from exc
    db.session.add(case)
    db.session.flush()
    record_from_application(case, facts, actor=user.username)
    record_event(case, "case_started", actor=user.username,
                 role=next(iter(sorted(user.group_codes)), None),
                 payload={"process_id": process_id, "deployment": deployment.number,
                          "new": _jsonable(data)})
    store.save(case, result, context=summary_of(data))
    record_step_events(case, result, actor=None)
    if also is not None:
        also(case)
    db.session.commit()
    runtime.version = case.state_version
    store.keep(case.id, runtime)
    return case


def get_case(user: User, case_id: str) -> Case:
    """Return a case the user may see; raises ``NotFoundError`` / ``PermissionDeniedError``."""
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    has_work = db.session.execute(select(exists().where(
        WorkItem.case_id == case_id,
        (WorkItem.completed_by == user.username) | (WorkItem.claimed_by == user.username)
        | WorkItem.candidate_groups.in_(sorted(user.group_codes))))).scalar()
    if not access.can_see_case(user, case, has_work_in_case=bool(has_work)):
        raise PermissionDeniedError("you may not see this case")
    return case


def case_history(case: Case) -> list[AuditEvent]:
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.case_seq)
    ).scalars())


def case_work_items(case: Case) -> list[WorkItem]:
    return list(db.session.execute(
        select(WorkItem).where(WorkItem.case_id == case.id).order_by(WorkItem.created_at)
    ).scalars())


def ready_work_items(case_ids: list[str]) -> dict[str, list[WorkItem]]:
    """Case id → its open (ready) tasks, oldest first, as ``case_work_items`` orders them;
    one query for a page of cases."""
    found: dict[str, list[WorkItem]] = {}
    if not case_ids:
        return found
    for item in db.session.execute(
            select(WorkItem).where(WorkItem.case_id.in_(case_ids), WorkItem.state == "ready")
            .order_by(WorkItem.created_at)).scalars():
        found.setdefault(item.case_id, []).append(item)
    return found


def case_data(case: Case) -> dict[str, Any]:
    """The case's current variables, from its live workflow."""
    store = case_store()
    with store.reading(case) as runtime:  # not while another thread steps the case
        return _jsonable(store.engine.case_data(runtime))


def live_data(case: Case) -> dict[str, Any]:
    """The variables where the case stands now, including those of the service sub-process
    (the plan's items and timetable, the one-time notice) before it ends."""
    store = case_store()
    with store.reading(case) as runtime:
        return _jsonable(store.engine.scope_data(runtime))
