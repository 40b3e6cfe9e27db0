"""The stopped clock of an item (补正, 行政许可法 Art. 45): deadlines and their audit events.

The diagram ``department_item`` keeps each item's clock in its data::

    item_clock = {"started_at": iso, "pauses": [{"start": iso, "end": iso | None,
                                                  "reason": "补正"}, ...]}

``start_item_clock`` sets it when the department takes the task sheet, ``pause_item_clock``
opens a pause when the department asks for supplementary materials, ``resume_item_clock``
closes it when the enterprise returns them, and ``compute_item_deadline`` moves the deadline by
the paused working days. This module reads the same record with the pure rule
(:func:`server.rules.workdays.deadline_with_pauses`) and audits each pause as it opens and
closes, from the step that opened or closed it (``record_clock_events``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.engine import clock
from server.engine.runtime import StepResult
from server.models import Case
from server.rules.workdays import ClockPauses, Deadline, Pause, WorkCalendar, deadline_with_pauses
from server.services.audit import record_event
from server.services.calendar import current_calendar

#: The user task during which an item's clock stands still.
PAUSING_ELEMENT = "supply_materials"


def pauses_of(item_clock: dict[str, Any]) -> ClockPauses:
    """The pauses recorded in an ``item_clock``; raises ValueError on malformed times."""
    return ClockPauses(tuple(
        Pause(datetime.fromisoformat(p["start"]),
              datetime.fromisoformat(p["end"]) if p.get("end") else None,
              str(p.get("reason") or ""))
        for p in item_clock.get("pauses") or []))


def item_deadline(item_clock: dict[str, Any], promised_days: int,
                  calendar: WorkCalendar | None = None) -> Deadline:
    """When an item is due: ``promised_days`` working days after its clock started, plus the
    working days it was paused. Raises ValueError on malformed times."""
    return deadline_with_pauses(datetime.fromisoformat(item_clock["started_at"]),
                                int(promised_days), pauses_of(item_clock),
                                calendar or current_calendar())


def record_clock_events(case: Case, result: StepResult, *, actor: str | None) -> None:
    """Audit ``clock_paused`` / ``clock_resumed`` for the supplement tasks a step opened or ended.

    A supplement task that opens stops its item's clock; one that is completed (materials
    returned) or cancelled (the case was terminated) starts it again. The resumed event carries
    the deadline moved by every pause so far.
    """
    now = clock.now()
    for human in result.human:
        if human.element_id != PAUSING_ELEMENT:
            continue
        item = human.data.get("item") or {}
        item_clock = human.data.get("item_clock") or {}
        common = {"item_code": item.get("code"), "item_name": item.get("name"),
                  "department": item.get("department")}
        if human.state == "ready":
            record_event(case, "clock_paused", actor=actor, task_id=human.id,
                         element_id=human.element_id, element_name=human.name, at=now,
                         payload={**common, "reason": "补正",
                                  "request": human.data.get("supplement_request"),
                                  "paused_at": now.isoformat()})
        elif human.state in {"completed", "cancelled"} and item_clock:
            # The task's data still shows the pause open: it closes now.
            closed = dict(item_clock)
            closed["pauses"] = [dict(p, end=p.get("end") or now.isoformat())
                                for p in item_clock.get("pauses") or []]
            calendar = current_calendar()
            paused = sum(calendar.working_days_between(p.start, p.end)
                         for p in pauses_of(closed).merged() if p.end is not None)
            # Before 受理 the period has not begun (行政许可法 Art. 32): no deadline yet.
            due = item_deadline(closed, int(item.get("promised_days") or 0), calendar) \
                if item_clock.get("started_at") else None
            record_event(case, "clock_resumed", actor=actor, task_id=human.id,
                         element_id=human.element_id, element_name=human.name, at=now,
                         payload={**common, "resumed_at": now.isoformat(),
                                  "ended_by": human.state,
                                  "paused_working_days": paused,
                                  "deadline": due.at.isoformat() if due else None,
                                  "provisional": due.provisional if due else None})
