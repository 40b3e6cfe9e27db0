"""Timers that count office minutes: the department's 30-minute call and its grace.

The case store hands each step's newly started minute timers here before it writes the case
(``CaseStore._after_step``); the lists and the case page ask when a late call's grace ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.engine import clock
from server.engine.errors import TaskNotReadyError
from server.engine.runtime import Engine, StepResult
from server.models import Case, WorkItem
from server.services.audit import record_event
from server.services.calendar import case_county, county_settings, current_calendar

# ---- the 30-minute call (专窗吹哨、部门报到, seed 004: 原则上应于30分钟内到达) -----------
#: Minute timers that count office minutes, and the county's grace before they escalate: the
#: boundary timer of the department's call (an interrupting escalation to the steward) by
#: the task it guards. The task's own deadline (``due_in_minutes(30)``) is the 30 office
#: minutes; until the grace has run out the late call is yellow with a reminder.
OFFICE_TIME_TIMERS = {"report_timeout": "take_task_sheet"}


def align_office_time_timers(live: Any, started: list[Any], *, engine: Engine,
                             save: Callable[[Case, StepResult], Any]) -> None:
    """Move the minute timers a step started to office minutes plus the county's grace
    (inside the step's case lock; audited ``timer_rescheduled``). ``engine`` and ``save`` are
    the case store's: each moved timer is written as a step of its own."""
    county = case_county(live.case)
    calendar = current_calendar(county=county)
    grace = county_settings(county).late_call_grace_minutes
    now = clock.now()
    for timer in started:
        minutes = max(round((timer.due_at - now).total_seconds() / 60), 0)
        at = calendar.add_office_minutes(now, minutes + grace).at
        if at == timer.due_at:
            continue
        try:
            result = engine.reschedule_timer(live.runtime, timer.task_id, at)
        except TaskNotReadyError:
            continue
        save(live.case, result)
        record_event(live.case, "timer_rescheduled", actor=None, task_id=timer.task_id,
                     element_id=timer.element_id, at=now, payload={
                         "old_due_at": timer.due_at.isoformat(), "new_due_at": at.isoformat(),
                         "reason": "office_minutes", "office_minutes": minutes,
                         "grace_minutes": grace})


def late_call_grace_ends(item: WorkItem) -> datetime | None:
    """For a department's call (到专窗领受任务单) past its 30 office minutes: when the county's
    grace runs out (原则上30分钟). None for other tasks."""
    if item.element_id not in OFFICE_TIME_TIMERS.values() or item.due_at is None:
        return None
    county = case_county(item.case)
    grace = county_settings(county).late_call_grace_minutes
    return current_calendar(county=county).add_office_minutes(item.due_at, grace).at
