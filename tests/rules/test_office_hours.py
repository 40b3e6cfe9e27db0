"""Office hours as data, office minutes for the 30-minute call, and calendar-day limits."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from server.rules.office_hours import parse_office_hours
from server.rules.workdays import (
    SHANGHAI,
    CalendarDataError,
    DayKind,
    Deadline,
    LimitKind,
    SpecialDay,
    WorkCalendar,
    parse_notice,
)

DAYAO_HOURS = parse_office_hours("09:00-12:00 14:30-18:00")


def cst(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.default().with_office_hours(DAYAO_HOURS)


# The 30-minute call (专窗吹哨、部门报到, seed 004: 原则上应于30分钟内到达) in office minutes.
@pytest.mark.parametrize(("issued", "due"), [
    (cst(2026, 11, 24, 17, 50), cst(2026, 11, 25, 9, 20)),   # Tue evening -> Wed morning
    (cst(2026, 11, 24, 11, 50), cst(2026, 11, 24, 14, 50)),  # across the lunch break
    (cst(2026, 10, 1, 10, 0), cst(2026, 10, 8, 9, 30)),      # 国庆: next working day 09:30
    (cst(2026, 11, 27, 17, 45), cst(2026, 11, 30, 9, 15)),   # Friday -> Monday
    (cst(2026, 11, 24, 7, 0), cst(2026, 11, 24, 9, 30)),     # before opening
    (cst(2026, 11, 24, 13, 0), cst(2026, 11, 24, 15, 0)),    # during the lunch break
    (cst(2026, 11, 24, 10, 0), cst(2026, 11, 24, 10, 30)),   # plain office time
    (cst(2026, 11, 24, 20, 0), cst(2026, 11, 25, 9, 30)),    # after the close
    (cst(2026, 10, 9, 17, 50), cst(2026, 10, 10, 9, 20)),    # Saturday 10/10 is a 调休 workday
])
def test_thirty_office_minutes(cal: WorkCalendar, issued: datetime, due: datetime) -> None:
    assert cal.add_office_minutes(issued, 30) == Deadline(due, provisional=False)


def test_office_minutes_follow_the_county_s_hours() -> None:
    # Changing the data (a county closing at 17:30) changes the answer; no code changes.
    early = WorkCalendar.default().with_office_hours(parse_office_hours("09:00-12:00 14:30-17:30"))
    assert early.add_office_minutes(cst(2026, 11, 24, 17, 20), 30).at == cst(2026, 11, 25, 9, 20)
    assert early.end_of_day(date(2026, 11, 24)) == cst(2026, 11, 24, 17, 30)


def test_seasonal_office_hours() -> None:
    hours = parse_office_hours("""
        05-01~09-30 09:00-12:00 15:00-18:00   # summer
        10-01~04-30 09:00-12:00 14:30-17:30   # winter, across the new year
    """)
    assert hours.close_on(date(2026, 7, 1)) == time(18)
    assert hours.close_on(date(2026, 1, 15)) == time(17, 30)
    cal = WorkCalendar.default().with_office_hours(hours)
    assert cal.add_office_minutes(cst(2026, 7, 1, 11, 50), 30).at == cst(2026, 7, 1, 15, 20)
    assert cal.add_working_days(cst(2026, 7, 1), 1).at == cst(2026, 7, 2, 18)
    assert parse_office_hours(hours.text) == hours


@pytest.mark.parametrize(("text", "message", "line"), [
    ("09:00-12:00 11:30-18:00", "overlap", 1),
    ("09:00-12:00\n\n14:30-12:00", "ends before it starts", 3),
    ("09:00-12:00 25:00-26:00", "not a time of day", 1),
    ("9h-12h", "not a period", 1),
    ("05-01~09-30 09:00-12:00\n09-01~04-30 09:00-12:00", "seasons overlap on 09-01", 2),
    ("05-01~09-30 09:00-12:00", "no office hours for 01-01", None),
    ("13-01~09-30 09:00-12:00", "not a month-day", 1),
    ("", "no office hours", None),
])
def test_bad_office_hours_are_located(text: str, message: str, line: int | None) -> None:
    with pytest.raises(CalendarDataError, match=message) as caught:
        parse_office_hours(text)
    assert caught.value.line == line


# -- calendar days (自然日): 民法典 Arts. 201 and 203 ------------------------------------------
def test_calendar_days_count_weekends(cal: WorkCalendar) -> None:
    # Monday 11/2 + 7 days -> Monday 11/9; 5 working days would be the same day, 10 days not.
    assert cal.add_calendar_days(cst(2026, 11, 2), 7).at == cst(2026, 11, 9, 18)
    assert cal.add_calendar_days(cst(2026, 11, 2), 10).at == cst(2026, 11, 12, 18)
    assert cal.add_working_days(cst(2026, 11, 2), 10).at == cst(2026, 11, 16, 18)
    assert cal.add_days(cst(2026, 11, 2), 10, LimitKind.CALENDAR) == cal.add_calendar_days(
        cst(2026, 11, 2), 10)


def test_a_last_day_on_a_day_off_moves_to_the_day_after_the_holiday(cal: WorkCalendar) -> None:
    # 9/28 + 5 days = Saturday 10/3, inside 国庆 (10/1–10/7): the period ends on Thursday 10/8.
    assert cal.add_calendar_days(cst(2026, 9, 28), 5).at == cst(2026, 10, 8, 18)
    # 11/2 + 5 days = Saturday 11/7: moves to Monday 11/9.
    assert cal.add_calendar_days(cst(2026, 11, 2), 5).at == cst(2026, 11, 9, 18)
    # A 调休 Saturday is a working day, not a day off: 10/5 + 5 = Saturday 10/10 stays.
    assert cal.add_calendar_days(cst(2026, 10, 5), 5).at == cst(2026, 10, 10, 18)


def test_calendar_days_into_an_unpublished_year_are_provisional(cal: WorkCalendar) -> None:
    due = cal.add_calendar_days(cst(2026, 12, 25), 7)  # Friday 1/1/2027 元旦 -> Monday 1/4
    assert due == Deadline(cst(2027, 1, 4, 18), provisional=True)


# -- local days ------------------------------------------------------------------------------
def test_local_holidays_layer_on_the_national_calendar() -> None:
    national = WorkCalendar.default()
    notice = parse_notice("2026-08-06~2026-08-07 holiday 火把节")
    dayao = national.with_local_days(notice.days)
    assert national.add_working_days(cst(2026, 8, 5), 1).at == cst(2026, 8, 6, 17, 30)
    assert dayao.add_working_days(cst(2026, 8, 5), 1).at == cst(2026, 8, 10, 17, 30)
    # A local notice publishes no national year.
    assert dayao.published_years == national.published_years
    assert list(dayao.local_special_days()) == [
        SpecialDay(date(2026, 8, 6), DayKind.HOLIDAY, "火把节"),
        SpecialDay(date(2026, 8, 7), DayKind.HOLIDAY, "火把节")]


def test_a_notice_with_overlapping_days_is_refused_with_its_line() -> None:
    with pytest.raises(CalendarDataError, match="listed twice: overlaps line 1") as caught:
        parse_notice("2026-08-06~2026-08-08 holiday 火把节\n2026-08-08 holiday 火把节")
    assert caught.value.line == 2
