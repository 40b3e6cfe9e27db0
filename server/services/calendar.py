"""The working-day calendar of this installation: the bundled years plus the notices loaded.

The bundled file ends with the last year ``chinesecalendar`` knew. An administrator pastes each
later year's State Council notice (``calendar_changes.load_notice``); the days are stored, the
year becomes published, and the deadlines that were counted Mon–Fri for it ("provisional") are
counted again.

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
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import func, select

from server.engine.scripting import current_county, use_calendar
from server.extensions import db
from server.models import CalendarDay, CalendarYear, Case, County, User
from server.rules import clock_law
from server.rules.clock_law import Art32Mode, LightRule, warning_instant
from server.rules.office_hours import DEFAULT_OFFICE_HOURS, OfficeHours, parse_office_hours
from server.rules.workdays import (
    CalendarDataError,
    DayKind,
    Deadline,
    LimitKind,
    Notice,
    SpecialDay,
    WorkCalendar,
    parse_notice,
)
from server.services.errors import PermissionDeniedError, ValidationFailedError

NAME_LENGTH = 100


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
    # Working days an enterprise has to agree, sign or evaluate before the window may record
    # its silence (the seeds set no limit: the county's choice).
    enterprise_reply_days: int = 5


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


# ---- the calendar every process counts with -----------------------------------------------
class InstalledCalendar:
    """What the engine's clock functions count with: always the current calendar of the county
    whose case is stepping (``server.engine.scripting.counting_for``)."""

    def calendar(self, *, refresh: bool = False) -> WorkCalendar:

        return current_calendar(county=current_county(), refresh=refresh)

    def settings(self) -> CountySettings:

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

    def enterprise_reply_due(self, start: datetime) -> datetime:
        """The county's limit for an enterprise's own step (its setting, in working days)."""
        return self.due_at(start, self.settings().enterprise_reply_days)

    def item_schedule(self, item: dict[str, Any], item_clock: dict[str, Any],
                      now: datetime) -> tuple[datetime, datetime]:
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
    # (A token, not id(app): a new app may reuse a collected app's id.) Made once per app: a
    # step asks several times, and a new uuid and the URL rendered each time cost 2 ms a case.
    database = current_app.extensions.get("guanjia.calendar_key")
    if database is None:
        database = current_app.extensions.setdefault(
            "guanjia.calendar_key",
            f"{uuid.uuid4().hex}:{db.engine.url.render_as_string(hide_password=True)}")
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
        Art32Mode(row.art32_mode), row.late_call_grace_minutes, row.publicity_cap_days,
        row.enterprise_reply_days or 5)


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
def require_admin(user: User) -> None:
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


def calendars_now() -> dict[str | None, WorkCalendar]:
    """The calendar of every county (and the national one) before a change."""
    codes: list[str | None] = [None]
    if _newest_stamp(db.engine.url.render_as_string(hide_password=True)) is not None:
        codes += list(db.session.execute(select(County.code)).scalars())
    return {code: current_calendar(county=code, refresh=True) for code in codes}


# ---- an approval item's schedule (its clock record in :mod:`server.services.clock_pauses`) ----
#: While an item is with a higher level its county timers wait "forever": it cannot go red on
#: the county (上级审批中); they move back when the item returns.
REFERRED_UNTIL = datetime(2999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class ItemSchedule:
    """An item's deadline, when its reminder fires, and what its engine timers wait for."""

    deadline: Deadline
    warning_at: datetime
    limit_days: int
    limit_kind: LimitKind
    threshold: int

    @property
    def timer_at(self) -> datetime:
        return REFERRED_UNTIL if self.deadline.referred else self.deadline.at

    @property
    def warning_timer_at(self) -> datetime:
        return REFERRED_UNTIL if self.deadline.referred else min(self.warning_at,
                                                                  self.deadline.at)


def item_schedule(item: dict[str, Any], item_clock: dict[str, Any], now: datetime, *,
                  calendar: WorkCalendar, settings: CountySettings = NATIONAL) -> ItemSchedule:
    """Deadline and reminder of an item: ``promised_days`` in its ``limit_kind`` (missing:
    working days), by the county's Art. 32 mode and light threshold. Raises ValueError on a
    malformed record."""
    kind = LimitKind.of(item.get("limit_kind"))
    days = int(item.get("promised_days") or 0)
    due = clock_law.item_deadline(item_clock, days, calendar, limit_kind=kind,
                                  art32_mode=settings.art32_mode)
    threshold = settings.light_rule.threshold(days)
    warn = warning_instant(due, threshold, calendar, now, limit_kind=kind)
    return ItemSchedule(due, warn, days, kind, threshold)
