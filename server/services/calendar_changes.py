"""What a calendar change does: the open deadlines counted again, and their timers moved.

A holiday notice loaded (:func:`load_notice`) or a county's settings changed
(:mod:`server.services.counties`) recount, under each case's lock, the deadlines that the old
calendar counted. It sits above the calendar, the case store and the items' clocks
(:mod:`server.services.clock_pauses`), which it drives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import AuditEvent, CalendarDay, CalendarYear, Case, User, WorkItem
from server.models.audit import TASK_CREATED, TASKS_CREATED, opened_tasks
from server.rules.workdays import DayKind, WorkCalendar
from server.services.audit import record_event
from server.services.calendar import (
    NAME_LENGTH,
    calendars_now,
    current_calendar,
    default_county,
    forget_calendars,
    preview_notice,
    require_admin,
    require_county,
)
from server.services.clock_pauses import reschedule_item_timers
from server.services.errors import ConflictError
from server.services.store import case_store
from server.services.tenancy import require_keeper

# A recomputation that loses a race with a step of the same case tries again this often.
RECOMPUTE_ATTEMPTS = 3


@dataclass(frozen=True)
class RecomputedDeadline:
    case_id: str
    task_id: str
    old_due_at: datetime
    new_due_at: datetime
    provisional: bool


@dataclass(frozen=True)
class LoadResult:
    years: tuple[int, ...]
    days: int
    recomputed: tuple[RecomputedDeadline, ...]


def load_notice(user: User, text: str, *, county: str | None = None) -> LoadResult:
    """Store a pasted holiday notice and recount the open deadlines it moves.

    Without ``county`` it is the State Council's notice and publishes its years; with one it is
    that county's local notice (its prefecture's days off, same format) and publishes nothing
    nationally. Raises PermissionDeniedError for a non-administrator and ValidationFailedError
    (with the line) for text that does not read as a notice or an unknown county; nothing is
    stored then. A county's administrator loads only their own county's notice; the national
    one and other counties' are the prefecture's (PermissionDeniedError).
    """
    require_admin(user)
    require_county(county)
    require_keeper(user, county or None, "the holiday notice")
    notice = preview_notice(text)
    olds = calendars_now()
    now = clock.now()
    years = tuple(sorted(notice.years))
    db.session.add_all([CalendarYear(year=y, loaded_by=user.username, loaded_at=now,
                                     source=text, county=county or None) for y in years])
    db.session.add_all([CalendarDay(day=d.day, kind=d.kind.value, name=d.name[:NAME_LENGTH],
                                    loaded_by=user.username, loaded_at=now,
                                    county=county or None)
                        for d in notice.days])
    record_event(None, "calendar_notice_loaded", actor=user.username, at=now, payload={
        "years": list(years), "days": len(notice.days), "county": county or None,
        "holidays": sum(d.kind is DayKind.HOLIDAY for d in notice.days),
        "workdays": sum(d.kind is DayKind.WORKDAY for d in notice.days)})
    db.session.commit()
    forget_calendars()
    recomputed = recompute_open_deadlines(olds, actor=user.username, county=county or None)
    return LoadResult(years, len(notice.days), tuple(recomputed))


def recompute_open_deadlines(olds: dict[str | None, WorkCalendar], *, actor: str | None,
                             county: str | None = None) -> list[RecomputedDeadline]:
    """Count the open deadlines again after a calendar change, and move the engine timers that
    wait on them.

    ``olds`` are the calendars before the change, by county. A day-counted deadline keeps its
    number of working days (as the old calendar counted them) from the moment its task opened;
    an approval item being handled is recounted from its clock record
    (:mod:`server.services.clock_pauses`), and its yellow and red timers move with it. With
    ``county`` only that county's cases are recounted. One commit per case, under the case's
    lock; each change is audited (``deadline_recomputed``, ``timer_rescheduled``).
    """
    query = (select(WorkItem.id, WorkItem.case_id, Case.county)
             .join(Case, Case.id == WorkItem.case_id)
             .where(WorkItem.state == "ready", WorkItem.due_at.is_not(None))
             .order_by(WorkItem.case_id, WorkItem.id))
    fallback = default_county()
    rows = [(i, c, k or fallback) for i, c, k in db.session.execute(query).all()]
    if county is not None:
        rows = [r for r in rows if r[2] == county]
    db.session.rollback()
    by_case: dict[str, tuple[str | None, list[str]]] = {}
    for item_id, case_id, case_county_ in rows:
        by_case.setdefault(case_id, (case_county_, []))[1].append(item_id)
    out: list[RecomputedDeadline] = []
    store = case_store()
    for case_id, (code, item_ids) in by_case.items():
        old = olds.get(code) or olds[None]
        for attempt in range(RECOMPUTE_ATTEMPTS):
            try:
                with store.locked(case_id) as live:
                    new = current_calendar(county=code, refresh=True)
                    changed = _recompute_case(live, item_ids, old, new, actor)
            except ConflictError:
                if attempt == RECOMPUTE_ATTEMPTS - 1:
                    raise
                continue
            out.extend(changed)
            break
    return out


def opened_at(case_id: str, task_ids: list[str]) -> dict[str, datetime]:
    """When each of the case's tasks ``task_ids`` opened, by its audit event (a fan-out's one
    event opened all it lists at its moment)."""
    wanted = set(task_ids)
    out: dict[str, datetime] = {}
    for type_, task_id, at, payload in db.session.execute(
            select(AuditEvent.type, AuditEvent.task_id, AuditEvent.at, AuditEvent.payload)
            .where(AuditEvent.case_id == case_id,
                   AuditEvent.type.in_((TASK_CREATED, TASKS_CREATED)))
            .order_by(AuditEvent.case_seq)):
        for opened, _ in opened_tasks(type_, task_id, payload):
            if opened in wanted:
                out.setdefault(opened, at)
    return out


def _recompute_case(live: Any, item_ids: list[str], old: WorkCalendar, new: WorkCalendar,
                    actor: str | None) -> list[RecomputedDeadline]:
    case = live.case
    items = db.session.execute(select(WorkItem).where(
        WorkItem.id.in_(item_ids), WorkItem.state == "ready")).scalars().all()
    # The deadline was counted from the engine's moment of the task's creation, which the
    # audit trail keeps (created_at is the wall clock of the insert).
    opened = opened_at(case.id, item_ids)
    out = []
    handled = reschedule_item_timers(live, [i.id for i in items], actor=actor,
                                     reason="calendar_changed")
    for item in items:
        if item.due_at is None:
            continue
        if item.id in handled:
            moved = handled[item.id]
            if moved is not None:
                out.append(RecomputedDeadline(case.id, item.id, moved[0], moved[1].at,
                                              moved[1].provisional))
            continue
        start = opened.get(item.id) or item.created_at
        n = max(old.working_days_between(start, item.due_at), 0)
        if old.add_working_days(start, n).at != item.due_at:
            continue  # not a working-day deadline (office minutes, a date typed in a form)
        due = new.add_working_days(start, n)
        if due.at == item.due_at and due.provisional == item.due_provisional:
            continue
        record_event(case, "deadline_recomputed", actor=actor, task_id=item.id,
                     element_id=item.element_id, element_name=item.name, payload={
                         "old_due_at": item.due_at.isoformat(),
                         "new_due_at": due.at.isoformat(), "working_days": n,
                         "counted_from": start.isoformat(), "provisional": due.provisional})
        out.append(RecomputedDeadline(case.id, item.id, item.due_at, due.at, due.provisional))
        item.due_at = due.at
        item.due_provisional = due.provisional
    return out
