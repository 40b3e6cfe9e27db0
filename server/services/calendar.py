"""The working-day calendar of this installation: the bundled years plus the notices loaded.

The bundled file ends with the last year ``chinesecalendar`` knew. An administrator pastes each
later year's State Council notice (:func:`load_notice`); the days are stored, the year becomes
published, and the deadlines that were counted Mon–Fri for it ("provisional") are counted again.

Every process counts with :func:`current_calendar`. It remembers the calendar it built together
with the id of the newest ``calendar_years`` row, and compares that id with the database once
per transaction in which it is asked inside an application context (one indexed ``SELECT
max(id)``; deadlines are computed when tasks open, not on hot read paths). So a worker picks
up a notice loaded by the web process at its next step that counts a deadline, with no restart
and no message between processes.
Outside an application context (pure engine use) the bundled calendar is used.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import func, select

from server.engine import clock
from server.extensions import db
from server.models import AuditEvent, CalendarDay, CalendarYear, Case, User, WorkItem
from server.rules.workdays import (
    CalendarDataError,
    DayKind,
    Notice,
    SpecialDay,
    WorkCalendar,
    parse_notice,
)
from server.services.audit import record_event
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError

NAME_LENGTH = 100
# A recomputation that loses a race with a step of the same case tries again this often.
RECOMPUTE_ATTEMPTS = 3


@dataclass(frozen=True)
class _Built:
    database: str
    stamp: int | None  # newest calendar_years.id; None while the tables do not exist yet
    calendar: WorkCalendar
    checked: float = 0.0  # time.monotonic() of the last look at the database


_guard = threading.Lock()
_built: _Built | None = None
# Once the tables are seen they stay; until then each check asks the catalog (cheap, no error,
# so a PostgreSQL transaction is never aborted by a missing table before migrations ran).
_tables_seen: set[str] = set()
# The transaction in which this thread last compared the stamp, and what it found.


@dataclass(frozen=True)
class PublishedYear:
    """A year the calendar counts exactly, and where its arrangement came from."""

    year: int
    source: str  # "bundled" or "loaded"
    loaded_by: str | None = None
    loaded_at: datetime | None = None
    holidays: int = 0
    workdays: int = 0


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


# ---- the calendar every process counts with -----------------------------------------------
class InstalledCalendar:
    """What the engine's ``due_in_working_days`` counts with: always the current calendar."""

    def due_at(self, start: datetime, n: int) -> datetime:
        deadline = current_calendar().add_working_days(start, n)
        if deadline.provisional:
            # Only a deadline in an unpublished year can change with a new notice: ask.
            deadline = current_calendar(refresh=True).add_working_days(start, n)
        return deadline.at

    def working_days_between(self, a: datetime, b: datetime) -> int:
        return current_calendar().working_days_between(a, b)


def install_calendar() -> None:
    """Make the engine count with :func:`current_calendar` (built lazily, so the app factory
    works before migrations have created the calendar tables)."""
    from server.engine.scripting import use_calendar

    use_calendar(InstalledCalendar())


RECHECK_SECONDS = 60.0


def current_calendar(*, refresh: bool = False) -> WorkCalendar:
    """The bundled calendar with every loaded notice applied, rebuilt when another process
    loaded one since this process last looked.

    The database is asked at most once a minute, or at once with ``refresh`` (callers pass it
    when a deadline came out provisional: only then can a newly loaded notice change it).
    A task completion thus costs no extra round trip for the calendar.
    """
    global _built
    if not has_app_context():
        # No database to ask: the bundled calendar, never one remembered from another app.
        return WorkCalendar.default()
    # Keyed by app as well: each app (a test's, a worker's) starts from what its database says.
    # (A token, not id(app): a new app may reuse a collected app's id.)
    token = current_app.extensions.setdefault("guanjia.calendar_token", uuid.uuid4().hex)
    database = f"{token}:{db.engine.url.render_as_string(hide_password=True)}"
    built = _built
    now = time.monotonic()
    if (not refresh and built is not None and built.database == database
            and now - built.checked < RECHECK_SECONDS):
        return built.calendar
    stamp = _newest_stamp(database)
    if built is None or built.database != database or built.stamp != stamp:
        calendar = _from_database() if stamp is not None else WorkCalendar.default()
        built = _Built(database, stamp, calendar, now)
    else:
        built = _Built(database, stamp, built.calendar, now)
    with _guard:
        _built = built
    return built.calendar


def is_provisional(start: datetime, due_at: datetime | None) -> bool:
    """True when a deadline counted from ``start`` to ``due_at`` assumed Mon–Fri somewhere."""
    if due_at is None or not current_calendar().is_span_provisional(start, due_at):
        return False
    return current_calendar(refresh=True).is_span_provisional(start, due_at)


def _newest_stamp(database: str) -> int | None:
    # The session's own connection: on SQLite a second connection would wait for the write
    # lock that the step running this deadline already holds.
    connection = db.session.connection()
    if database not in _tables_seen:
        if not sa.inspect(connection).has_table(CalendarYear.__tablename__):
            return None
        _tables_seen.add(database)
    stamp = connection.execute(select(func.max(CalendarYear.id))).scalar()
    return int(stamp or 0)


def _from_database() -> WorkCalendar:
    years = db.session.connection().execute(select(CalendarYear.year).distinct()).scalars()
    rows = db.session.connection().execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name).order_by(CalendarDay.id))
    # Ordered by id: for a date listed twice, the later load replaces the earlier one.
    days = [SpecialDay(day, DayKind(kind), name) for day, kind, name in rows]
    return WorkCalendar.default().with_days(days, list(years))


# ---- reading -------------------------------------------------------------------------------
def published_years() -> list[PublishedYear]:
    """Every published year, newest first: loaded ones with who and when, then bundled ones."""
    calendar = current_calendar()
    counts: dict[int, list[int]] = {}
    for day in calendar.special_days():
        entry = counts.setdefault(day.day.year, [0, 0])
        entry[0 if day.kind is DayKind.HOLIDAY else 1] += 1
    loads: dict[int, CalendarYear] = {}
    if _newest_stamp(db.engine.url.render_as_string(hide_password=True)) is not None:
        for row in db.session.execute(select(CalendarYear).order_by(CalendarYear.id)).scalars():
            loads[row.year] = row  # the newest load of a year wins
    out = []
    for year in sorted(calendar.published_years, reverse=True):
        load = loads.get(year)
        holidays, workdays = counts.get(year, [0, 0])
        out.append(PublishedYear(year, "loaded" if load else "bundled",
                                 load.loaded_by if load else None,
                                 load.loaded_at if load else None, holidays, workdays))
    return out


def loaded_notices() -> list[CalendarYear]:
    """The loads, newest first (one row per year published by a load)."""
    return list(db.session.execute(
        select(CalendarYear).order_by(CalendarYear.id.desc())).scalars())


def preview_notice(text: str) -> Notice:
    """Parse a pasted notice. Raises ValidationFailedError naming the line that is wrong."""
    try:
        return parse_notice(text)
    except CalendarDataError as exc:
        error = ValidationFailedError(f"the notice cannot be read: {exc}", {"notice": [str(exc)]})
        error.extra["line"] = exc.line
        raise error from None


# ---- loading -------------------------------------------------------------------------------
def _require_admin(user: User) -> None:
    if not user.in_group("admin"):
        raise PermissionDeniedError("only administrators load holiday notices")


def load_notice(user: User, text: str) -> LoadResult:
    """Store a pasted holiday notice, publish its years and recount provisional deadlines.

    Raises PermissionDeniedError for a non-administrator and ValidationFailedError (with the
    line) for text that does not read as a notice; nothing is stored then.
    """
    _require_admin(user)
    notice = preview_notice(text)
    old = current_calendar()
    now = clock.now()
    years = tuple(sorted(notice.years))
    db.session.add_all([CalendarYear(year=y, loaded_by=user.username, loaded_at=now,
                                     source=text) for y in years])
    db.session.add_all([CalendarDay(day=d.day, kind=d.kind.value, name=d.name[:NAME_LENGTH],
                                    loaded_by=user.username, loaded_at=now)
                        for d in notice.days])
    record_event(None, "calendar_notice_loaded", actor=user.username, at=now, payload={
        "years": list(years), "days": len(notice.days),
        "holidays": sum(d.kind is DayKind.HOLIDAY for d in notice.days),
        "workdays": sum(d.kind is DayKind.WORKDAY for d in notice.days)})
    db.session.commit()
    new = current_calendar(refresh=True)
    recomputed = recompute_provisional_deadlines(old, new, actor=user.username)
    return LoadResult(years, len(notice.days), tuple(recomputed))


def recompute_provisional_deadlines(old: WorkCalendar, new: WorkCalendar, *,
                                    actor: str | None) -> list[RecomputedDeadline]:
    """Count every open provisional deadline again with ``new``: the same number of working
    days (as ``old`` counted them) from the moment the task opened. One commit per case, under
    the case's lock; each changed deadline is audited as ``deadline_recomputed``.

    Engine timers already scheduled inside a case keep their instants (see the module notes).
    """
    from server.services.store import case_store

    rows = db.session.execute(
        select(WorkItem.id, WorkItem.case_id).where(
            WorkItem.state == "ready", WorkItem.due_provisional.is_(True),
            WorkItem.due_at.is_not(None)).order_by(WorkItem.case_id, WorkItem.id)).all()
    db.session.rollback()
    by_case: dict[str, list[str]] = {}
    for item_id, case_id in rows:
        by_case.setdefault(case_id, []).append(item_id)
    out: list[RecomputedDeadline] = []
    store = case_store()
    for case_id, item_ids in by_case.items():
        for attempt in range(RECOMPUTE_ATTEMPTS):
            try:
                with store.locked(case_id) as live:
                    changed = _recompute_case(live.case, item_ids, old, new, actor)
            except ConflictError:
                if attempt == RECOMPUTE_ATTEMPTS - 1:
                    raise
                continue
            out.extend(changed)
            break
    return out


def _recompute_case(case: Case, item_ids: list[str], old: WorkCalendar, new: WorkCalendar,
                    actor: str | None) -> list[RecomputedDeadline]:
    items = db.session.execute(select(WorkItem).where(
        WorkItem.id.in_(item_ids), WorkItem.state == "ready",
        WorkItem.due_provisional.is_(True))).scalars().all()
    # The deadline was counted from the engine's moment of the task's creation, which the
    # audit trail keeps (created_at is the wall clock of the insert).
    opened = dict(db.session.execute(
        select(AuditEvent.task_id, func.min(AuditEvent.at)).where(
            AuditEvent.case_id == case.id, AuditEvent.type == "task_created",
            AuditEvent.task_id.in_(item_ids)).group_by(AuditEvent.task_id)).all())
    out = []
    for item in items:
        if item.due_at is None:
            continue
        start = opened.get(item.id) or item.created_at
        n = max(old.working_days_between(start, item.due_at), 0)
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
