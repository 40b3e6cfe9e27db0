"""The Chinese working-day clock (工作日时钟): pure, with the calendar passed in.

Rules (the contract every deadline in guanjia follows):

* **Working days.** A day is a working day when the calendar lists it as an adjusted working
  day (调休上班), else when it is not a listed holiday, not a statutory holiday of an unpublished
  year, and falls Monday–Friday.
* **Published years.** The State Council publishes each year's holiday arrangement (国务院办公厅
  关于部分节假日安排的通知) late in the previous year. For a year that is not published yet the
  statutory holidays that are known years ahead apply (元旦, 劳动节, 国庆 on fixed dates; 春节,
  清明, 端午, 中秋 by the lunar calendar: :mod:`server.rules.statutory_holidays`), the rest of
  the week is Monday–Friday, and every deadline that counts such a day is ``provisional``: the
  year's 调休 is unknown. Loading that year's notice (:func:`parse_notice`,
  :meth:`WorkCalendar.with_notice`) makes the same computation exact.
* **Local days.** A county's calendar is the national one with the local days off of its
  prefecture's annual notice layered on top (少数民族习惯的节日, 《全国年节及纪念日放假办法》
  Art. 4): :meth:`WorkCalendar.with_local_days`.
* **Counting working days.** The day on which a period starts is not counted (民法典 Art. 201:
  开始的当日不计入，自下一日开始计算), whatever the time of day; n working days after ``start``
  end at the close of office (:mod:`server.rules.office_hours`, 民法典 Art. 203 para. 2: 有业务
  时间的，停止业务活动的时间为截止时间) on the n-th working day after the start's local date.
  ``n = 0`` means "today": the close of the start day, or of the next working day if it is not
  one. 行政许可法 Art. 82 makes that law's own limits working days (以工作日计算，不含法定节假日).
* **Counting calendar days** (a statute that says 日, e.g. 环评法, 建筑法): n days after the start
  day; when the last day is a day off, the period ends on the next working day (民法典 Art. 203
  para. 1: 期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日).
* **Office minutes** (the 30-minute call of 专窗吹哨、部门报到, seed 004): only minutes inside the
  office periods of working days count: :meth:`WorkCalendar.add_office_minutes`.
  :func:`add_minutes` keeps wall-clock minutes for what really runs through the night.
* **Pauses.** Time the law leaves out of a period (行政许可法 Art. 45: 听证、招标、拍卖、
  检验、检测、检疫、鉴定和专家评审; 公示; an item sent up for the prefecture's or
  province's decision) is not counted. A closed pause costs the days after the day it
  began, up to and including the day it ended, at most its cap, and moves the deadline by
  that many days: :func:`deadline_with_pauses`.
  补正 is not such a pause by default: under 行政许可法 Art. 32 the application is accepted
  (受理) once the materials are complete, and the period runs from 受理 (Art. 42): see
  :mod:`server.rules.clock_law`.
* **Time zone.** Inputs must be timezone-aware; calendar days are taken in Asia/Shanghai;
  returned datetimes are UTC-aware.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from server.rules.calendar_data import CalendarDataError as CalendarDataError
from server.rules.office_hours import DEFAULT_OFFICE_HOURS, OfficeHours
from server.rules.statutory_holidays import statutory_holiday


def _shanghai() -> tzinfo:
    # China has kept UTC+8 without DST since 1991, so a fixed offset is exact for every date
    # this service handles; it only matters where the system has no tz database.
    try:
        return ZoneInfo("Asia/Shanghai")
    except Exception:  # pragma: no cover - depends on the host's tz database
        return timezone(timedelta(hours=8), "CST")


SHANGHAI: tzinfo = _shanghai()
#: Close of office of the installation's default office hours.
DAY_END = time(17, 30)
#: Bundled data file generated from the ``chinesecalendar`` package.
DEFAULT_DATA_FILE = "holidays_cn.json"


class DayKind(StrEnum):
    """What a listed day is: a statutory holiday (放假) or an adjusted working day (调休上班)."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


class LimitKind(StrEnum):
    """How a limit counts: working days (工作日) or calendar days (自然日, a statute's 日)."""

    WORKING = "working"
    CALENDAR = "calendar"

    @classmethod
    def of(cls, value: object) -> LimitKind:
        """The kind named by a catalog value; missing means working days (old cases).

        Raises ValueError for an unknown name.
        """
        if value in (None, ""):
            return cls.WORKING
        try:
            return cls(str(value))
        except ValueError:
            raise ValueError(f"unknown limit kind {value!r}; use 'working' or 'calendar'") from None

    @property
    def unit_zh(self) -> str:
        return "个工作日" if self is LimitKind.WORKING else "日（自然日）"


# Words an administrator may type for a kind, from the way notices are written.
_KIND_WORDS: Mapping[str, DayKind] = {
    "holiday": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "放假": DayKind.HOLIDAY,
    "假": DayKind.HOLIDAY,
    "workday": DayKind.WORKDAY,
    "班": DayKind.WORKDAY,
    "上班": DayKind.WORKDAY,
    "调休": DayKind.WORKDAY,
}


@dataclass(frozen=True)
class SpecialDay:
    """A day the calendar lists explicitly: a holiday or an adjusted working day."""

    day: date
    kind: DayKind
    name: str = ""


@dataclass(frozen=True)
class Deadline:
    """A computed due moment.

    ``at`` is UTC-aware. ``provisional`` is True when a counted day lies in a year whose holiday
    notice is not loaded (the statutory holidays and Mon–Fri were assumed). ``paused_since`` is
    set while the clock is stopped: ``at`` then is the due moment if the pause runs to its cap
    (``resumes_at``), or, for a pause without a cap, ignores the open pause (the earliest
    possible due moment). ``referred_since`` is set while the item is with the prefecture or
    province (上级审批中): the county's clock stands still and the item cannot be overdue on it.
    """

    at: datetime
    provisional: bool = False
    paused_since: datetime | None = None
    resumes_at: datetime | None = None
    referred_since: datetime | None = None

    @property
    def paused(self) -> bool:
        """True while the clock is stopped by an open pause."""
        return self.paused_since is not None

    @property
    def referred(self) -> bool:
        """True while the item is with a higher level (上级审批中)."""
        return self.referred_since is not None


@dataclass(frozen=True)
class Notice:
    """A parsed holiday notice: the years it publishes and the days it lists."""

    years: frozenset[int]
    days: tuple[SpecialDay, ...]


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")


def add_minutes(start: datetime, minutes: int) -> datetime:
    """Return ``start`` plus wall-clock ``minutes`` as a UTC-aware datetime.

    For what really runs through nights and holidays; a department's 30-minute call counts
    office minutes instead (:meth:`WorkCalendar.add_office_minutes`).
    Raises ValueError for a naive ``start`` or negative ``minutes``.
    """
    _require_aware(start, "start")
    if minutes < 0:
        raise ValueError(f"minutes must be >= 0, got {minutes}")
    return (start + timedelta(minutes=minutes)).astimezone(UTC)


class WorkCalendar:
    """Which days are working days, office hours, and deadline arithmetic over them.

    Immutable: the ``with_*`` methods return new calendars.
    """

    def __init__(
        self,
        days: Iterable[SpecialDay] = (),
        published_years: Iterable[int] = (),
        *,
        tz: tzinfo = SHANGHAI,
        office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        local_days: Iterable[SpecialDay] = (),
    ) -> None:
        """Build from listed days; a later entry for the same date replaces an earlier one.

        ``local_days`` (a county's own days off) take precedence over the national ones.
        """
        self._national: dict[date, SpecialDay] = {d.day: d for d in days}
        self._local: dict[date, SpecialDay] = {d.day: d for d in local_days}
        self._days: dict[date, SpecialDay] = {**self._national, **self._local}
        self._published: frozenset[int] = frozenset(published_years)
        self.tz = tz
        self.office_hours = office_hours

    # -- construction -------------------------------------------------------------------

    @classmethod
    def default(cls) -> WorkCalendar:
        """The calendar bundled in ``server/data/holidays_cn.json`` (from ``chinesecalendar``).

        Raises CalendarDataError if the bundled file is malformed.
        """
        return _default_calendar()

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[date | str, str, str]],
        published_years: Iterable[int],
        *,
        tz: tzinfo = SHANGHAI,
        office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
    ) -> WorkCalendar:
        """Build from plain ``(date, kind, name)`` rows, e.g. read from a database table.

        ``kind`` is ``"holiday"`` or ``"workday"`` (or a Chinese word such as 休/班).
        Raises CalendarDataError on an unknown kind or unparsable date (``line`` = row number).
        """
        days = [_special_day(d, k, n, line=i) for i, (d, k, n) in enumerate(rows, start=1)]
        return cls(days, published_years, tz=tz, office_hours=office_hours)

    def _copy(self, *, national: Iterable[SpecialDay] = (), years: Iterable[int] = (),
              local: Iterable[SpecialDay] = (),
              office_hours: OfficeHours | None = None) -> WorkCalendar:
        return WorkCalendar([*self._national.values(), *national],
                            self._published | frozenset(years), tz=self.tz,
                            office_hours=office_hours or self.office_hours,
                            local_days=[*self._local.values(), *local])

    def with_days(self, days: Iterable[SpecialDay], published_years: Iterable[int]) -> WorkCalendar:
        """Return a copy with national ``days`` added (replacing same dates), years published."""
        return self._copy(national=days, years=published_years)

    def with_notice(self, notice: Notice) -> WorkCalendar:
        """Return a copy with a parsed notice applied: its days listed, its years published."""
        return self.with_days(notice.days, notice.years)

    def with_local_days(self, days: Iterable[SpecialDay]) -> WorkCalendar:
        """Return a copy with a county's own days layered on top; publishes no national year."""
        return self._copy(local=days)

    def with_office_hours(self, office_hours: OfficeHours) -> WorkCalendar:
        """Return a copy that closes (and counts office minutes) by ``office_hours``."""
        return self._copy(office_hours=office_hours)

    # -- inspection -----------------------------------------------------------------------

    @property
    def published_years(self) -> frozenset[int]:
        """Years whose official holiday arrangement is loaded."""
        return self._published

    def is_published(self, year: int) -> bool:
        """True when ``year``'s notice is loaded (its deadlines are not provisional)."""
        return year in self._published

    def special_day(self, day: date) -> SpecialDay | None:
        """The listed holiday or adjusted working day on ``day``, if any."""
        return self._days.get(day)

    def special_days(self) -> Iterator[SpecialDay]:
        """All listed days in date order (national and local)."""
        return iter(sorted(self._days.values(), key=lambda d: d.day))

    def local_special_days(self) -> Iterator[SpecialDay]:
        """The county's own listed days in date order."""
        return iter(sorted(self._local.values(), key=lambda d: d.day))

    def provisional_holiday(self, day: date) -> str | None:
        """The statutory holiday assumed on ``day`` because its year is not published."""
        if day in self._days or self.is_published(day.year):
            return None
        return statutory_holiday(day)

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` is a working day (a ``datetime`` is taken at its local date)."""
        if isinstance(day, datetime):
            day = self.local_date(day)
        listed = self._days.get(day)
        if listed is not None:
            return listed.kind is DayKind.WORKDAY
        if not self.is_published(day.year) and statutory_holiday(day) is not None:
            return False
        return day.weekday() < 5

    def local_date(self, moment: datetime) -> date:
        """The calendar date of an aware ``moment`` in the calendar's time zone.

        Raises ValueError for a naive datetime.
        """
        _require_aware(moment, "moment")
        return moment.astimezone(self.tz).date()

    def end_of_day(self, day: date) -> datetime:
        """Close of office on ``day`` in the calendar's time zone, as a UTC-aware datetime."""
        close = self.office_hours.close_on(day)
        return datetime.combine(day, close, tzinfo=self.tz).astimezone(UTC)

    # -- arithmetic -----------------------------------------------------------------------

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """Deadline n working days after ``start`` (start day not counted; ends at the close).

        Raises ValueError for a naive ``start`` or a negative ``n``.
        """
        _require_aware(start, "start")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = self.local_date(start)
        provisional = False
        if n == 0:
            # "Today": the start day itself counts only here, so its year matters too.
            provisional = not self.is_published(day.year)
            while not self.is_working_day(day):
                day += timedelta(days=1)
                provisional = provisional or not self.is_published(day.year)
            return Deadline(self.end_of_day(day), provisional)
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            provisional = provisional or not self.is_published(day.year)
            if self.is_working_day(day):
                counted += 1
        return Deadline(self.end_of_day(day), provisional)

    def add_calendar_days(self, start: datetime, n: int) -> Deadline:
        """Deadline n calendar days after ``start`` (民法典 Arts. 201, 203).

        The start day is not counted; a last day that is a day off moves to the next working
        day; the period ends at the close of office. Raises ValueError for a naive ``start``
        or a negative ``n``.
        """
        _require_aware(start, "start")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        first = self.local_date(start)
        day = first + timedelta(days=n)
        provisional = any(not self.is_published(y) for y in range(first.year, day.year + 1))
        while not self.is_working_day(day):
            day += timedelta(days=1)
            provisional = provisional or not self.is_published(day.year)
        return Deadline(self.end_of_day(day), provisional)

    def add_days(self, start: datetime, n: int,
                 kind: LimitKind | str = LimitKind.WORKING) -> Deadline:
        """Working or calendar days, as the limit says. Raises ValueError as the two do."""
        if LimitKind.of(kind) is LimitKind.CALENDAR:
            return self.add_calendar_days(start, n)
        return self.add_working_days(start, n)

    def days_between(self, a: date | datetime, b: date | datetime,
                     kind: LimitKind | str = LimitKind.WORKING) -> int:
        """Working days (or calendar days) after ``a``'s date up to ``b``'s date."""
        if LimitKind.of(kind) is LimitKind.CALENDAR:
            da = self.local_date(a) if isinstance(a, datetime) else a
            db = self.local_date(b) if isinstance(b, datetime) else b
            return (db - da).days
        return self.working_days_between(a, b)

    def add_office_minutes(self, start: datetime, minutes: int) -> Deadline:
        """The moment ``minutes`` office minutes after ``start``.

        Only minutes inside the office periods of working days count: issued at 17:50 with
        office until 18:00, 30 minutes end at 09:20 on the next working morning; issued on a
        holiday, at 09:30 on the next working day. Raises ValueError for a naive ``start`` or
        negative ``minutes``.
        """
        _require_aware(start, "start")
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        local = start.astimezone(self.tz)
        day = local.date()
        remaining = timedelta(minutes=minutes)
        provisional = not self.is_published(day.year)
        cursor = local
        for _ in range(3660):  # ten years of days: a guard, never reached by real data
            if self.is_working_day(day):
                for opens, closes in self.office_hours.periods_on(day):
                    period_start = datetime.combine(day, opens, tzinfo=self.tz)
                    period_end = datetime.combine(day, closes, tzinfo=self.tz)
                    if cursor >= period_end:
                        continue
                    cursor = max(cursor, period_start)
                    available = period_end - cursor
                    if remaining <= available:
                        return Deadline((cursor + remaining).astimezone(UTC), provisional)
                    remaining -= available
                    cursor = period_end
            day += timedelta(days=1)
            provisional = provisional or not self.is_published(day.year)
            cursor = datetime.combine(day, time(0), tzinfo=self.tz)
        raise ValueError("no office hours within ten years")  # pragma: no cover

    def due_at(self, start: datetime, n: int) -> datetime:
        """Just the moment of :meth:`add_working_days` (the engine's ``(datetime, int)`` rule).

        Raises ValueError for a naive ``start`` or a negative ``n``.
        """
        return self.add_working_days(start, n).at

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days after ``a``'s date up to and including ``b``'s date; negative if b < a.

        Inverse of :meth:`add_working_days`: when ``b`` is that deadline, the result is ``n``.
        Datetimes are taken at their local date; raises ValueError for naive datetimes.
        """
        da = self.local_date(a) if isinstance(a, datetime) else a
        db = self.local_date(b) if isinstance(b, datetime) else b
        if db < da:
            return -self.working_days_between(db, da)
        count = 0
        day = da
        while day < db:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def is_span_provisional(self, a: date | datetime, b: date | datetime) -> bool:
        """True when any day in the span between ``a`` and ``b`` lies in an unpublished year."""
        da = self.local_date(a) if isinstance(a, datetime) else a
        db = self.local_date(b) if isinstance(b, datetime) else b
        lo, hi = min(da, db), max(da, db)
        return any(not self.is_published(y) for y in range(lo.year, hi.year + 1))


# -- pauses (行政许可法 Art. 45, 公示, referral upward) --------------------------------------

#: The kind of a pause that sends the item up for a higher level's decision (上级审批中).
REFERRAL = "referral"


@dataclass(frozen=True)
class Pause:
    """A stopped-clock interval; ``end`` None means still stopped.

    ``reason`` is free text (e.g. 专家评审会); ``kind`` one of
    :data:`server.rules.clock_law.PAUSE_KINDS`; ``cap_days`` the most days (in the limit's
    unit) the pause may take off the clock — for Art. 45 the time notified to the applicant in
    writing (行政机关应当将所需时间书面告知申请人).
    """

    start: datetime
    end: datetime | None = None
    reason: str = ""
    kind: str = ""
    cap_days: int | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start, "pause start")
        if self.end is not None:
            _require_aware(self.end, "pause end")
            if self.end < self.start:
                raise ValueError(f"pause ends before it starts: {self.start} > {self.end}")
        if self.cap_days is not None and self.cap_days < 0:
            raise ValueError(f"a pause cap must be >= 0 days, got {self.cap_days}")


@dataclass(frozen=True)
class ClockPauses:
    """The pauses of one item's clock, kept in start order."""

    pauses: tuple[Pause, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "pauses", tuple(sorted(self.pauses, key=lambda p: p.start)))

    def merged(self) -> tuple[Pause, ...]:
        """Overlapping pauses joined, so a day is never credited twice; reasons are joined.

        A joined pause is a referral when either part is; its cap is the sum of the caps when
        every part has one.
        """
        out: list[Pause] = []
        for p in self.pauses:
            if out and (out[-1].end is None or p.start <= out[-1].end):
                last = out[-1]
                end = None if last.end is None or p.end is None else max(last.end, p.end)
                reason = "; ".join(r for r in (last.reason, p.reason) if r)
                kind = REFERRAL if REFERRAL in (last.kind, p.kind) else (last.kind or p.kind)
                cap = (None if last.cap_days is None or p.cap_days is None
                       else last.cap_days + p.cap_days)
                out[-1] = Pause(last.start, end, reason, kind, cap)
            else:
                out.append(p)
        return tuple(out)

    @property
    def open_since(self) -> datetime | None:
        """Start of the pause still running, if the clock is stopped now."""
        for p in self.merged():
            if p.end is None:
                return p.start
        return None


def deadline_with_pauses(
    start: datetime,
    n: int,
    pauses: ClockPauses | Iterable[Pause],
    calendar: WorkCalendar,
    *,
    limit_kind: LimitKind | str = LimitKind.WORKING,
) -> Deadline:
    """Deadline n days after ``start``, moved by the days the clock was paused.

    Each closed pause that begins before the (already moved) deadline adds the days after the
    day it began up to the day it ended (at most its cap); a pause beginning after the deadline
    changes nothing (an overdue item is not rescued by a later pause). An open pause that begins
    before the deadline sets ``paused_since`` (``referred_since`` for a referral) and, when it
    has a cap, moves ``at`` by the full cap (``resumes_at`` says when the cap runs out).
    Pauses beginning before ``start`` count from ``start``.
    Raises ValueError for naive datetimes, a negative ``n`` or an unknown limit kind.
    """
    kind = LimitKind.of(limit_kind)
    clock = pauses if isinstance(pauses, ClockPauses) else ClockPauses(tuple(pauses))
    paused_days = 0
    due = calendar.add_days(start, n, kind)
    for p in clock.merged():
        if p.end is not None and p.end <= start:
            continue
        p_start = max(p.start, start)
        if p_start >= due.at:
            break
        if p.end is None:
            if p.kind == REFERRAL:
                return Deadline(due.at, due.provisional, referred_since=p_start)
            if p.cap_days is None:
                return Deadline(due.at, due.provisional, paused_since=p_start)
            capped = calendar.add_days(start, n + paused_days + p.cap_days, kind)
            resumes = calendar.add_days(p_start, p.cap_days, kind)
            return Deadline(capped.at, capped.provisional, paused_since=p_start,
                            resumes_at=resumes.at)
        taken = calendar.days_between(p_start, p.end, kind)
        paused_days += taken if p.cap_days is None else min(taken, p.cap_days)
        # Additive: n days then k more lands where n + k days lands, and the provisional flag
        # then covers the paused days too (they lie before the moved deadline).
        due = calendar.add_days(start, n + paused_days, kind)
    return due


# -- notices and data files -------------------------------------------------------------------

_DATE_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*(?:~|\.\.|至)\s*(\d{4}-\d{2}-\d{2}))?$")


def _parse_date(text: str, line: int | None) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CalendarDataError(f"not a date (YYYY-MM-DD): {text!r}", line) from None


def _parse_kind(text: str, line: int | None) -> DayKind:
    kind = _KIND_WORDS.get(text.strip().lower())
    if kind is None:
        raise CalendarDataError(f"unknown kind {text!r}; use 'holiday' or 'workday'", line)
    return kind


def _special_day(d: date | str, kind: str, name: str, *, line: int | None) -> SpecialDay:
    day = d if isinstance(d, date) else _parse_date(d, line)
    return SpecialDay(day, _parse_kind(kind, line), (name or "").strip())


def _check_years(
    days: list[SpecialDay], declared: set[int], lines: list[int | None]
) -> frozenset[int]:
    """The published years of a notice: declared, or the single year its days fall in."""
    seen: dict[date, tuple[DayKind, int | None]] = {}
    for d, line in zip(days, lines, strict=True):
        if d.day in seen and seen[d.day][0] is not d.kind:
            raise CalendarDataError(
                f"{d.day} listed as both holiday and workday (first on line {seen[d.day][1]})",
                line,
            )
        if d.day in seen:
            # Two lines (or ranges) that overlap: one of them is a typing mistake.
            raise CalendarDataError(
                f"{d.day} listed twice: overlaps line {seen[d.day][1]}", line)
        seen.setdefault(d.day, (d.kind, line))
    if declared:
        return frozenset(declared)
    years = {d.day.year for d in days}
    if len(years) != 1:
        # A notice may reach into the neighbouring year (New Year's Eve, a January 调休), so
        # guessing would silently publish the wrong year.
        raise CalendarDataError(
            "cannot tell which year this notice publishes; add a line 'year YYYY'"
            if years
            else "the notice lists no days"
        )
    return frozenset(years)


def parse_notice(text: str) -> Notice:
    """Parse a holiday notice pasted by an administrator, as lines or as JSON.

    Line format (``#`` starts a comment; separators are spaces, tabs or commas)::

        year 2027
        2027-01-01 holiday 元旦
        2027-02-06~2027-02-12 休 春节
        2027-02-07 workday 春节调休

    JSON format: ``{"year": 2027 | "published_years": [..], "days": [[date, kind, name] |
    {"date":…, "kind":…, "name":…}, …]}``. A range ``A~B`` (or ``A..B``, ``A至B``) lists every
    date from A to B. Without a ``year``, all days must fall in one year, which is published.
    Raises CalendarDataError (with the line number where one applies).
    """
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        return _parse_notice_json(stripped)
    days: list[SpecialDay] = []
    lines: list[int | None] = []
    declared: set[int] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        parts = [p for p in re.split(r"[\s,，]+", body, maxsplit=2) if p]
        if parts[0].lower() in ("year", "年份", "年度"):
            if len(parts) < 2 or not parts[1].isdigit():
                raise CalendarDataError(f"expected 'year YYYY', got {body!r}", lineno)
            declared.add(int(parts[1]))
            continue
        # Rejoin a range written with spaces around its separator ("2027-10-01 ~ 2027-10-07").
        m = re.match(r"^(\d{4}-\d{2}-\d{2}\s*(?:~|\.\.|至)\s*\d{4}-\d{2}-\d{2})\s+(.*)$", body)
        if m:
            parts = [re.sub(r"\s+", "", m.group(1)), *re.split(r"[\s,，]+", m.group(2), maxsplit=1)]
        if len(parts) < 2:
            raise CalendarDataError(f"expected 'DATE KIND [NAME]', got {body!r}", lineno)
        rng = _DATE_RANGE.match(parts[0])
        if not rng:
            raise CalendarDataError(f"not a date or range: {parts[0]!r}", lineno)
        first = _parse_date(rng.group(1), lineno)
        last = _parse_date(rng.group(2), lineno) if rng.group(2) else first
        if last < first:
            raise CalendarDataError(f"range ends before it starts: {parts[0]!r}", lineno)
        kind = _parse_kind(parts[1], lineno)
        name = parts[2].strip() if len(parts) > 2 else ""
        day = first
        while day <= last:
            days.append(SpecialDay(day, kind, name))
            lines.append(lineno)
            day += timedelta(days=1)
    return Notice(_check_years(days, declared, lines), tuple(days))


def _parse_notice_json(text: str) -> Notice:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalendarDataError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    if isinstance(data, list):
        data = {"days": data}
    if not isinstance(data, dict) or not isinstance(data.get("days"), list):
        raise CalendarDataError("JSON notice must be an object with a 'days' list")
    declared: set[int] = set()
    if "year" in data:
        declared.add(_as_year(data["year"]))
    declared.update(_as_year(y) for y in data.get("published_years", []))
    days: list[SpecialDay] = []
    lines: list[int | None] = []
    for i, entry in enumerate(data["days"], start=1):
        # For JSON the "line" is the entry's position in the list.
        if isinstance(entry, dict):
            d, k, n = entry.get("date", ""), entry.get("kind", ""), entry.get("name", "")
        elif isinstance(entry, list) and len(entry) in (2, 3):
            d, k, n = entry[0], entry[1], entry[2] if len(entry) == 3 else ""
        else:
            raise CalendarDataError(f"day entry {i} must be [date, kind, name] or an object", i)
        if not all(isinstance(x, str) for x in (d, k, n)):
            raise CalendarDataError(f"day entry {i} must hold strings", i)
        days.append(_special_day(d, k, n, line=i))
        lines.append(i)
    return Notice(_check_years(days, declared, lines), tuple(days))


def _as_year(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1900 < value < 3000:
        return value
    raise CalendarDataError(f"not a year: {value!r}")


def calendar_from_json(text: str) -> WorkCalendar:
    """Build a calendar from the bundled JSON format (see ``server/data/holidays_cn.json``).

    Raises CalendarDataError when the text is malformed.
    """
    notice = _parse_notice_json(text)
    return WorkCalendar(notice.days, notice.years)


@cache
def _default_calendar() -> WorkCalendar:
    # Cached: the calendar is immutable and the file is read-only package data.
    text = resources.files("server.data").joinpath(DEFAULT_DATA_FILE).read_text(encoding="utf-8")
    return calendar_from_json(text)
