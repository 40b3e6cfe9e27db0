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

Counties (:mod:`server.services.counties`) layer their local days off and office hours on the
national calendar: ``current_calendar(county="dayao")``. A case counts with its county's
calendar, or the installation's default county when it names none (:func:`case_county`).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import func, select

from server.engine import clock
from server.extensions import db
from server.models import AuditEvent, CalendarDay, CalendarYear, Case, County, User, WorkItem
from server.rules.clock_law import Art32Mode, LightRule
from server.rules.office_hours import DEFAULT_OFFICE_HOURS, OfficeHours, parse_office_hours
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
class CountySettings:
    """What a county's clock counts with, read from its row (or the installation defaults)."""

    code: str | None
    name: str
    prefecture: str = ""
    office_hours: OfficeHours = DEFAULT_OFFICE_HOURS
    light_rule: LightRule = LightRule()
    art32_mode: Art32Mode = Art32Mode.RESTART
    late_call_grace_minutes: int = 30
    publicity_cap_days: int = 10


#: The national calendar's settings: no county, the installation's defaults.
NATIONAL = CountySettings(None, "全国（国务院通知）")

# The stamp: newest calendar_years.id and the sum of county revisions (None: no tables yet).
Stamp = tuple[int, int] | None


@dataclass(frozen=True)
class _Built:
    database: str
    stamp: Stamp
    calendar: WorkCalendar
    settings: CountySettings
    checked: float = 0.0  # time.monotonic() of the last look at the database
    default: str | None = None  # the installation's default county, as of this stamp


_guard = threading.Lock()
_builts: dict[tuple[str, str], _Built] = {}
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
    """What the engine's clock functions count with: always the current calendar of the county
    whose case is stepping (``server.engine.scripting.counting_for``)."""

    def calendar(self, *, refresh: bool = False) -> WorkCalendar:
        from server.engine.scripting import current_county

        return current_calendar(county=current_county(), refresh=refresh)

    def settings(self) -> CountySettings:
        from server.engine.scripting import current_county

        return county_settings(current_county())

    def due_at(self, start: datetime, n: int) -> datetime:
        deadline = self.calendar().add_working_days(start, n)
        if deadline.provisional:
            # Only a deadline in an unpublished year can change with a new notice: ask.
            deadline = self.calendar(refresh=True).add_working_days(start, n)
        return deadline.at

    def working_days_between(self, a: datetime, b: datetime) -> int:
        return self.calendar().working_days_between(a, b)

    def office_minutes_due(self, start: datetime, minutes: int) -> datetime:
        return self.calendar().add_office_minutes(start, minutes).at

    def item_schedule(self, item: dict[str, Any], item_clock: dict[str, Any],
                      now: datetime) -> tuple[datetime, datetime]:
        from server.services.clock_pauses import item_schedule

        schedule = item_schedule(item, item_clock, now, calendar=self.calendar(),
                                 settings=self.settings())
        if schedule.deadline.provisional:
            schedule = item_schedule(item, item_clock, now,
                                     calendar=self.calendar(refresh=True),
                                     settings=self.settings())
        return schedule.timer_at, schedule.warning_timer_at


def install_calendar() -> None:
    """Make the engine count with :func:`current_calendar` (built lazily, so the app factory
    works before migrations have created the calendar tables)."""
    from server.engine.scripting import use_calendar

    use_calendar(InstalledCalendar())


RECHECK_SECONDS = 60.0


def current_calendar(*, refresh: bool = False, county: str | None = None) -> WorkCalendar:
    """The bundled calendar with every loaded notice applied (and, for a ``county``, its local
    days and office hours), rebuilt when another process loaded a notice or edited the county
    since this process last looked.

    The database is asked at most once a minute, or at once with ``refresh`` (callers pass it
    when a deadline came out provisional: only then can a newly loaded notice change it).
    A task completion thus costs no extra round trip for the calendar. An unknown county
    counts with the national calendar.
    """
    return _current(refresh=refresh, county=county).calendar


def county_settings(county: str | None, *, refresh: bool = False) -> CountySettings:
    """The settings a county counts with (the national defaults for None or an unknown code)."""
    return _current(refresh=refresh, county=county).settings


def _current(*, refresh: bool, county: str | None) -> _Built:
    if not has_app_context():
        # No database to ask: the bundled calendar, never one remembered from another app.
        return _Built("", None, WorkCalendar.default(), NATIONAL)
    # Keyed by app as well: each app (a test's, a worker's) starts from what its database says.
    # (A token, not id(app): a new app may reuse a collected app's id.)
    token = current_app.extensions.setdefault("guanjia.calendar_token", uuid.uuid4().hex)
    database = f"{token}:{db.engine.url.render_as_string(hide_password=True)}"
    key = (database, county or "")
    built = _builts.get(key)
    now = time.monotonic()
    if not refresh and built is not None and now - built.checked < RECHECK_SECONDS:
        return built
    stamp = _newest_stamp(database)
    if built is None or built.stamp != stamp:
        if stamp is None:
            built = _Built(database, None, WorkCalendar.default(), NATIONAL, now)
        else:
            calendar, settings = _from_database(county)
            default = db.session.connection().execute(
                select(County.code).where(County.is_default.is_(True)).order_by(County.code)
            ).scalars().first()
            built = _Built(database, stamp, calendar, settings, now, default)
    else:
        built = _Built(database, stamp, built.calendar, built.settings, now, built.default)
    with _guard:
        _builts[key] = built
    return built


def forget_calendars() -> None:
    """Drop every calendar this process built (after it changed one itself)."""
    with _guard:
        _builts.clear()


def default_county(*, refresh: bool = False) -> str | None:
    """The installation's default county (the one marked default on the calendar page)."""
    return _current(refresh=refresh, county=None).default


def case_county(case: Case) -> str | None:
    """The county a case counts with: its own, else the installation's default."""
    return case.county or default_county()


def is_provisional(start: datetime, due_at: datetime | None) -> bool:
    """True when a deadline counted from ``start`` to ``due_at`` assumed Mon–Fri somewhere."""
    if due_at is None or not current_calendar().is_span_provisional(start, due_at):
        return False
    return current_calendar(refresh=True).is_span_provisional(start, due_at)


def _newest_stamp(database: str) -> Stamp:
    # The session's own connection: on SQLite a second connection would wait for the write
    # lock that the step running this deadline already holds.
    connection = db.session.connection()
    if database not in _tables_seen:
        inspector = sa.inspect(connection)
        if not (inspector.has_table(CalendarYear.__tablename__)
                and inspector.has_table(County.__tablename__)):
            return None
        _tables_seen.add(database)
    years, counties = connection.execute(select(
        select(func.max(CalendarYear.id)).scalar_subquery(),
        select(func.coalesce(func.sum(County.revision), 0)).scalar_subquery())).one()
    return int(years or 0), int(counties or 0)


def settings_of(row: County) -> CountySettings:
    """A county row read as settings; raises CalendarDataError for stored office hours that
    no longer parse (the page never stores such)."""
    return CountySettings(
        row.code, row.name, row.prefecture, parse_office_hours(row.office_hours),
        LightRule(row.light_share_percent / 100, row.light_min_days),
        Art32Mode(row.art32_mode), row.late_call_grace_minutes, row.publicity_cap_days)


def _from_database(county: str | None) -> tuple[WorkCalendar, CountySettings]:
    connection = db.session.connection()
    years = connection.execute(select(CalendarYear.year).distinct().where(
        CalendarYear.county.is_(None))).scalars()
    rows = connection.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
        .where(CalendarDay.county.is_(None)).order_by(CalendarDay.id))
    # Ordered by id: for a date listed twice, the later load replaces the earlier one.
    days = [SpecialDay(day, DayKind(kind), name) for day, kind, name in rows]
    calendar = WorkCalendar.default().with_days(days, list(years))
    if county is None:
        return calendar, NATIONAL
    row = db.session.get(County, county)
    if row is None:
        return calendar, NATIONAL
    settings = settings_of(row)
    local = [SpecialDay(day, DayKind(kind), name) for day, kind, name in connection.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
        .where(CalendarDay.county == county).order_by(CalendarDay.id))]
    return calendar.with_local_days(local).with_office_hours(settings.office_hours), settings


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
        for row in db.session.execute(select(CalendarYear).where(
                CalendarYear.county.is_(None)).order_by(CalendarYear.id)).scalars():
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


def require_county(code: str | None) -> County | None:
    """The county row named ``code`` (None for None). Raises ValidationFailedError, naming the
    code, for an unknown county."""
    if not code:
        return None
    row = db.session.get(County, code)
    if row is None:
        known = "、".join(db.session.execute(select(County.code).order_by(County.code)).scalars())
        raise ValidationFailedError(f"unknown county {code!r} (known: {known or 'none'})",
                                    {"county": [f"unknown county {code!r}"]})
    return row


def load_notice(user: User, text: str, *, county: str | None = None) -> LoadResult:
    """Store a pasted holiday notice and recount the open deadlines it moves.

    Without ``county`` it is the State Council's notice and publishes its years; with one it is
    that county's local notice (its prefecture's days off, same format) and publishes nothing
    nationally. Raises PermissionDeniedError for a non-administrator and ValidationFailedError
    (with the line) for text that does not read as a notice or an unknown county; nothing is
    stored then.
    """
    _require_admin(user)
    require_county(county)
    notice = preview_notice(text)
    olds = _calendars_now()
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


def _calendars_now() -> dict[str | None, WorkCalendar]:
    """The calendar of every county (and the national one) before a change."""
    codes: list[str | None] = [None]
    if _newest_stamp(db.engine.url.render_as_string(hide_password=True)) is not None:
        codes += list(db.session.execute(select(County.code)).scalars())
    return {code: current_calendar(county=code, refresh=True) for code in codes}


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
    from server.services.store import case_store

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


def _recompute_case(live: Any, item_ids: list[str], old: WorkCalendar, new: WorkCalendar,
                    actor: str | None) -> list[RecomputedDeadline]:
    from server.services.clock_pauses import reschedule_item_timers

    case = live.case
    items = db.session.execute(select(WorkItem).where(
        WorkItem.id.in_(item_ids), WorkItem.state == "ready")).scalars().all()
    # The deadline was counted from the engine's moment of the task's creation, which the
    # audit trail keeps (created_at is the wall clock of the insert).
    opened = dict(db.session.execute(
        select(AuditEvent.task_id, func.min(AuditEvent.at)).where(
            AuditEvent.case_id == case.id, AuditEvent.type == "task_created",
            AuditEvent.task_id.in_(item_ids)).group_by(AuditEvent.task_id)).all())
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
