"""Office hours (办公时间) of a county: the periods of a working day, possibly by season.

Written as text an administrator can type, one season a line::

    09:00-12:00 14:30-18:00                      # all year
    05-01~09-30 09:00-12:00 15:00-18:00          # summer
    10-01~04-30 09:00-12:00 14:30-17:30          # winter (a season may wrap the new year)

Periods are local times in ascending order and must not overlap; seasons must not overlap
either (a day outside every season uses the line without dates, or, lacking one, is an error
when parsed). The close of the last period is the close of office: the moment a day-counted
period ends (民法典 Art. 203 para. 2: 有业务时间的，停止业务活动的时间为截止时间), and minute
limits (the 30-minute call) count only minutes inside the periods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from server.rules.calendar_data import CalendarDataError

_PERIOD = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})$")
_SEASON = re.compile(r"^(\d{2})-(\d{2})\s*[~至]\s*(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Season:
    """Office periods on the days from ``start`` to ``end`` (``(month, day)``, inclusive).

    ``start`` None means every day not covered by a dated season.
    """

    periods: tuple[tuple[time, time], ...]
    start: tuple[int, int] | None = None
    end: tuple[int, int] | None = None

    def covers(self, day: date) -> bool:
        if self.start is None or self.end is None:
            return True
        md = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end  # wraps the new year


@dataclass(frozen=True)
class OfficeHours:
    """The office periods of every day, by season."""

    seasons: tuple[Season, ...]

    def periods_on(self, day: date) -> tuple[tuple[time, time], ...]:
        """The periods of ``day`` (whether it is a working day is the calendar's business)."""
        fallback: Season | None = None
        for season in self.seasons:
            if season.start is None:
                fallback = season
            elif season.covers(day):
                return season.periods
        if fallback is None:  # pragma: no cover - parse() refuses gaps
            raise ValueError(f"no office hours cover {day}")
        return fallback.periods

    def close_on(self, day: date) -> time:
        """The close of office on ``day``."""
        return self.periods_on(day)[-1][1]

    def open_on(self, day: date) -> time:
        """The opening of office on ``day``."""
        return self.periods_on(day)[0][0]

    @property
    def text(self) -> str:
        """The canonical text form (what :func:`parse_office_hours` reads back)."""
        lines = []
        for s in self.seasons:
            periods = " ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in s.periods)
            if s.start is None or s.end is None:
                lines.append(periods)
            else:
                lines.append(f"{s.start[0]:02d}-{s.start[1]:02d}~{s.end[0]:02d}-{s.end[1]:02d} "
                             f"{periods}")
        return "\n".join(lines)


def _parse_periods(tokens: list[str], line: int) -> tuple[tuple[time, time], ...]:
    periods: list[tuple[time, time]] = []
    for token in tokens:
        m = _PERIOD.match(token)
        if not m:
            raise CalendarDataError(f"not a period HH:MM-HH:MM: {token!r}", line)
        try:
            a = time(int(m.group(1)), int(m.group(2)))
            b = time(int(m.group(3)), int(m.group(4)))
        except ValueError:
            raise CalendarDataError(f"not a time of day: {token!r}", line) from None
        if b <= a:
            raise CalendarDataError(f"period ends before it starts: {token!r}", line)
        if periods and a < periods[-1][1]:
            last = periods[-1]
            raise CalendarDataError(
                f"periods overlap or are out of order: {last[0]:%H:%M}-{last[1]:%H:%M} "
                f"and {token}", line)
        periods.append((a, b))
    if not periods:
        raise CalendarDataError("a season needs at least one period", line)
    return tuple(periods)


def _month_day(month: str, day: str, text: str, line: int) -> tuple[int, int]:
    try:
        date(2024, int(month), int(day))  # a leap year, so 02-29 is allowed
    except ValueError:
        raise CalendarDataError(f"not a month-day MM-DD: {text!r}", line) from None
    return int(month), int(day)


def parse_office_hours(text: str) -> OfficeHours:
    """Read office hours from text (see the module doc).

    Raises CalendarDataError naming the line: a malformed period or date, overlapping periods,
    overlapping seasons, or days no season covers.
    """
    seasons: list[Season] = []
    lines: list[int] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        body = re.sub(r"\s*([-–~至])\s*", r"\1", body)  # "09:00 - 12:00" -> "09:00-12:00"
        tokens = [t for t in re.split(r"[\s,，、;；]+", body) if t]
        m = _SEASON.match(tokens[0])
        if m:
            start = _month_day(m.group(1), m.group(2), tokens[0], lineno)
            end = _month_day(m.group(3), m.group(4), tokens[0], lineno)
            seasons.append(Season(_parse_periods(tokens[1:], lineno), start, end))
        else:
            seasons.append(Season(_parse_periods(tokens, lineno)))
        lines.append(lineno)
    if not seasons:
        raise CalendarDataError("no office hours given")
    undated = [ln for s, ln in zip(seasons, lines, strict=True) if s.start is None]
    if len(undated) > 1:
        raise CalendarDataError("more than one line without dates", undated[1])
    # Every day of a leap year is covered at most once, and at least once without a fallback.
    covered: dict[tuple[int, int], int] = {}
    day = date(2024, 1, 1)
    while day.year == 2024:
        for season, lineno in zip(seasons, lines, strict=True):
            if season.start is None or not season.covers(day):
                continue
            md = (day.month, day.day)
            if md in covered:
                raise CalendarDataError(
                    f"seasons overlap on {md[0]:02d}-{md[1]:02d} (also line {covered[md]})",
                    lineno)
            covered[md] = lineno
        if not undated and (day.month, day.day) not in covered:
            raise CalendarDataError(
                f"no office hours for {day.month:02d}-{day.day:02d}; add a line without dates")
        day = date.fromordinal(day.toordinal() + 1)
    return OfficeHours(tuple(seasons))


#: Installation default: morning and afternoon, closing at 17:30 (the close every deadline
#: has ended at so far). A county sets its own on the calendar page.
DEFAULT_OFFICE_HOURS = OfficeHours((Season(((time(9), time(12)), (time(14, 30), time(17, 30)))),))
