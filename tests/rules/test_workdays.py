"""The working-day clock against real Chinese calendar dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server.rules.workdays import (
    SHANGHAI,
    CalendarDataError,
    ClockPauses,
    DayKind,
    Deadline,
    Pause,
    SpecialDay,
    WorkCalendar,
    add_minutes,
    calendar_from_json,
    deadline_with_pauses,
    parse_notice,
)


def cst(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def close_of(y: int, m: int, d: int) -> datetime:
    """17:30 Beijing time, as the UTC datetime the clock returns."""
    return cst(y, m, d, 17, 30).astimezone(UTC)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.default()


# -- the bundled calendar ---------------------------------------------------------------


def test_default_calendar_matches_chinesecalendar_on_every_day(cal: WorkCalendar) -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    day, last = date(2004, 1, 1), date(2026, 12, 31)
    while day <= last:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_default_calendar_publishes_2004_to_2026(cal: WorkCalendar) -> None:
    assert cal.published_years == frozenset(range(2004, 2027))
    assert not cal.is_published(2027)


def test_national_day_2026_per_the_library(cal: WorkCalendar) -> None:
    # The 2026 notice: Mid-Autumn 9/25–9/27, National Day 10/1–10/7, with Sunday 9/20 and
    # Saturday 10/10 as adjusted working days (9/27 is a Mid-Autumn holiday, not a 调休 day).
    assert cal.is_working_day(date(2026, 9, 20))
    assert not cal.is_working_day(date(2026, 9, 25))
    assert not cal.is_working_day(date(2026, 9, 27))
    assert all(not cal.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_working_day(date(2026, 10, 10))
    assert cal.special_day(date(2026, 10, 10)) == SpecialDay(
        date(2026, 10, 10), DayKind.WORKDAY, "国庆节调休"
    )
    assert cal.special_day(date(2026, 10, 1)) == SpecialDay(
        date(2026, 10, 1), DayKind.HOLIDAY, "国庆节"
    )


def test_five_working_days_after_2026_09_28_is_saturday_10_10(cal: WorkCalendar) -> None:
    # 9/29, 9/30, 10/8, 10/9, 10/10 (an adjusted working Saturday).
    due = cal.add_working_days(cst(2026, 9, 28, 10), 5)
    assert due == Deadline(close_of(2026, 10, 10), provisional=False)
    assert due.at.tzinfo is UTC
    assert due.at == datetime(2026, 10, 10, 9, 30, tzinfo=UTC)
    assert cal.due_at(cst(2026, 9, 28, 10), 5) == due.at


def test_spring_festival_2026(cal: WorkCalendar) -> None:
    # Holiday 2/15–2/23, Saturdays 2/14 and 2/28 are working days.
    assert cal.is_working_day(date(2026, 2, 14))
    assert not cal.is_working_day(date(2026, 2, 23))
    assert cal.is_working_day(date(2026, 2, 28))
    # From Thursday 2/12: 2/13, 2/14 (Sat, worked), then 2/24 after the festival.
    assert cal.add_working_days(cst(2026, 2, 12), 3).at == close_of(2026, 2, 24)
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


# -- counting rules ---------------------------------------------------------------------


def test_start_day_is_not_counted_whatever_the_hour(cal: WorkCalendar) -> None:
    for hour in (0, 9, 17, 20, 23):
        assert cal.add_working_days(cst(2026, 11, 2, hour), 1).at == close_of(2026, 11, 3)


def test_start_day_is_the_local_date_in_shanghai(cal: WorkCalendar) -> None:
    # 2026-11-01 17:00 UTC is Monday 2026-11-02 01:00 in Beijing.
    start = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)
    assert cal.add_working_days(start, 1).at == close_of(2026, 11, 3)


def test_start_on_a_weekend_counts_from_the_next_working_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(cst(2026, 11, 7), 1).at == close_of(2026, 11, 9)


def test_zero_days_is_today_or_the_next_working_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(cst(2026, 11, 2, 20), 0).at == close_of(2026, 11, 2)
    assert cal.add_working_days(cst(2026, 10, 3), 0).at == close_of(2026, 10, 8)


def test_working_days_between_inverts_add_working_days(cal: WorkCalendar) -> None:
    start = cst(2025, 12, 20)
    for offset in range(0, 120, 7):
        s = start + timedelta(days=offset)
        for n in (1, 3, 10, 20):
            assert cal.working_days_between(s, cal.add_working_days(s, n).at) == n


def test_working_days_between_is_signed(cal: WorkCalendar) -> None:
    assert cal.working_days_between(date(2026, 10, 10), date(2026, 9, 28)) == -5
    assert cal.working_days_between(date(2026, 10, 10), date(2026, 10, 10)) == 0


def test_naive_datetimes_and_negative_days_are_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_days(datetime(2026, 11, 2, 9), 1)
    with pytest.raises(ValueError, match=">= 0"):
        cal.add_working_days(cst(2026, 11, 2), -1)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_minutes(datetime(2026, 11, 2, 9), 30)


def test_add_minutes_is_wall_clock_through_holidays() -> None:
    start = cst(2026, 10, 1, 23, 50)
    assert add_minutes(start, 30) == datetime(2026, 10, 1, 16, 20, tzinfo=UTC)
    assert add_minutes(start, 30).tzinfo is UTC


# -- unpublished years ------------------------------------------------------------------

NOTICE_2027 = """
# Illustrative, not the real 2027 arrangement: the State Council had not published it.
year 2027
2027-01-01 holiday 元旦
2027-02-06 ~ 2027-02-12 休 春节
2027-02-20 workday 春节调休   # a Saturday worked
"""


def test_deadline_reaching_into_2027_is_provisional(cal: WorkCalendar) -> None:
    # 12/31 (Thu); 元旦 1/1 is a fixed statutory holiday even before the notice; then 1/4–1/6.
    due = cal.add_working_days(cst(2026, 12, 30), 5)
    assert due == Deadline(close_of(2027, 1, 7), provisional=True)
    assert cal.is_span_provisional(cst(2026, 12, 30), due.at)
    assert cal.provisional_holiday(date(2027, 1, 1)) == "元旦"


def test_the_issue_s_dates_across_new_year(cal: WorkCalendar) -> None:
    # guanjia calendar due 2026-12-31T09:00+08:00 1 / 5 (issue 12's acceptance).
    assert cal.add_working_days(cst(2026, 12, 31), 1) == Deadline(close_of(2027, 1, 4), True)
    assert cal.add_working_days(cst(2026, 12, 31), 5) == Deadline(close_of(2027, 1, 8), True)


def test_lunar_holidays_of_an_unpublished_year_apply_provisionally(cal: WorkCalendar) -> None:
    # 2027: 除夕 2/5 and 春节 2/6–2/8, 清明 4/5, 劳动节 5/1–5/2, 端午 6/9, 中秋 9/15, 国庆 10/1–3.
    off = {date(2027, 2, 5), date(2027, 2, 8), date(2027, 4, 5), date(2027, 6, 9),
           date(2027, 9, 15), date(2027, 10, 1)}
    assert all(not cal.is_working_day(d) for d in off)
    assert [cal.provisional_holiday(d) for d in sorted(off)] == [
        "春节", "春节", "清明节", "端午节", "中秋节", "国庆节"]
    # Thursday 2/4 + 1 working day: Friday 2/5 is 除夕, Monday 2/8 初三 -> Tuesday 2/9.
    assert cal.add_working_days(cst(2027, 2, 4), 1) == Deadline(close_of(2027, 2, 9), True)


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_holiday_rules_match_the_published_years(cal: WorkCalendar, year: int) -> None:
    # The 2024 revision of 全国年节及纪念日放假办法 applies from 2025: each statutory day of the
    # computed list is a holiday in the State Council's notice for that year.
    from server.rules.statutory_holidays import statutory_holidays

    days = statutory_holidays(year)
    assert len(days) == 13
    for day, name in days:
        listed = cal.special_day(day)
        assert listed is not None and listed.kind is DayKind.HOLIDAY, (day, name)


def test_deadline_within_2026_is_not_provisional(cal: WorkCalendar) -> None:
    assert not cal.add_working_days(cst(2026, 12, 24), 5).provisional


def test_loading_the_2027_notice_makes_it_exact() -> None:
    base = WorkCalendar.default()
    cal = base.with_notice(parse_notice(NOTICE_2027))
    due = cal.add_working_days(cst(2026, 12, 30), 5)
    # 12/31, 1/4, 1/5, 1/6, 1/7 as before, now exact.
    assert due == Deadline(close_of(2027, 1, 7), provisional=False)
    # The notice's 春节 runs to 2/12, where the statutory rule alone stopped at 2/8.
    assert not cal.is_working_day(date(2027, 2, 10))
    assert base.is_working_day(date(2027, 2, 10))
    assert cal.is_working_day(date(2027, 2, 20))
    assert not cal.is_working_day(date(2027, 2, 8))
    # The base calendar is unchanged.
    assert base.add_working_days(cst(2026, 12, 30), 5).provisional


# -- pauses -----------------------------------------------------------------------------


def test_pause_moves_the_deadline_by_the_paused_working_days(cal: WorkCalendar) -> None:
    start = cst(2026, 11, 2)  # Monday; 5 working days -> Monday 11/9
    assert cal.add_working_days(start, 5).at == close_of(2026, 11, 9)
    # 补正 from Tuesday 10:00 to Thursday 15:00: Wednesday and Thursday are not counted.
    pause = Pause(cst(2026, 11, 3, 10), cst(2026, 11, 5, 15), "补正")
    assert deadline_with_pauses(start, 5, [pause], cal).at == close_of(2026, 11, 11)


def test_pause_within_one_day_moves_nothing(cal: WorkCalendar) -> None:
    pause = Pause(cst(2026, 11, 3, 10), cst(2026, 11, 3, 15))
    assert deadline_with_pauses(cst(2026, 11, 2), 5, [pause], cal).at == close_of(2026, 11, 9)


def test_pause_over_national_day_credits_only_working_days(cal: WorkCalendar) -> None:
    # Paused 9/29 -> 10/9: 9/30, 10/8, 10/9 are the working days credited back.
    start = cst(2026, 9, 28)
    pause = Pause(cst(2026, 9, 29), cst(2026, 10, 9), "专家评审")
    due = deadline_with_pauses(start, 5, ClockPauses((pause,)), cal)
    assert due.at == cal.add_working_days(start, 8).at == close_of(2026, 10, 14)


def test_overlapping_pauses_are_not_credited_twice(cal: WorkCalendar) -> None:
    a = Pause(cst(2026, 11, 3), cst(2026, 11, 5), "补正")
    b = Pause(cst(2026, 11, 4), cst(2026, 11, 6), "专家评审")
    assert ClockPauses((b, a)).merged() == (
        Pause(cst(2026, 11, 3), cst(2026, 11, 6), "补正; 专家评审"),
    )
    assert deadline_with_pauses(cst(2026, 11, 2), 5, [a, b], cal).at == close_of(2026, 11, 12)


def test_pause_after_the_deadline_does_not_rescue_an_overdue_item(cal: WorkCalendar) -> None:
    late = Pause(cst(2026, 11, 10), cst(2026, 11, 20))
    assert deadline_with_pauses(cst(2026, 11, 2), 5, [late], cal).at == close_of(2026, 11, 9)


def test_pause_before_start_counts_from_start(cal: WorkCalendar) -> None:
    early = Pause(cst(2026, 10, 28), cst(2026, 11, 3, 12))
    # Only Tuesday 11/3 (after the start day) is credited.
    assert deadline_with_pauses(cst(2026, 11, 2), 5, [early], cal).at == close_of(2026, 11, 10)
    done_before = Pause(cst(2026, 10, 20), cst(2026, 10, 21))
    assert deadline_with_pauses(cst(2026, 11, 2), 5, [done_before], cal).at == close_of(2026, 11, 9)


def test_open_pause_reports_paused_since(cal: WorkCalendar) -> None:
    closed = Pause(cst(2026, 11, 3), cst(2026, 11, 4))
    running = Pause(cst(2026, 11, 6, 11), None, "补正")
    due = deadline_with_pauses(cst(2026, 11, 2), 5, [closed, running], cal)
    assert due.paused and due.paused_since == cst(2026, 11, 6, 11)
    assert due.at == close_of(2026, 11, 10)
    assert ClockPauses((closed, running)).open_since == cst(2026, 11, 6, 11)
    assert ClockPauses((closed,)).open_since is None


def test_pause_validation() -> None:
    with pytest.raises(ValueError, match="ends before"):
        Pause(cst(2026, 11, 3), cst(2026, 11, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(datetime(2026, 11, 3))


# -- notices and rows -------------------------------------------------------------------


def test_parse_notice_lines() -> None:
    notice = parse_notice(NOTICE_2027)
    assert notice.years == frozenset({2027})
    assert len(notice.days) == 1 + 7 + 1
    assert notice.days[0] == SpecialDay(date(2027, 1, 1), DayKind.HOLIDAY, "元旦")
    assert notice.days[-1] == SpecialDay(date(2027, 2, 20), DayKind.WORKDAY, "春节调休")


def test_parse_notice_infers_a_single_year() -> None:
    assert parse_notice("2027-05-01 holiday 劳动节").years == frozenset({2027})


def test_parse_notice_json_both_shapes() -> None:
    a = parse_notice('{"year": 2027, "days": [["2027-01-01", "holiday", "元旦"]]}')
    b = parse_notice('[{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]')
    assert a == b


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("year 2027\n2027-13-01 holiday x", "not a date", 2),
        ("year 2027\n\n2027-01-01 rest 元旦", "unknown kind", 3),
        ("2027-01-01 holiday\n2027-01-01 workday", "both holiday and workday", 2),
        ("2026-12-31 holiday\n2027-01-01 holiday", "add a line 'year YYYY'", None),
        ("# nothing\n", "lists no days", None),
        ("year 2027\n2027-01-05~2027-01-01 holiday", "ends before", 2),
        ("year twenty", "expected 'year YYYY'", 1),
        ('{"days": [["2027-01-01"]]}', r"must be \[date, kind, name\]", 1),
        ('{"days": ', "invalid JSON", 1),
    ],
)
def test_parse_notice_errors_carry_the_line(text: str, message: str, line: int | None) -> None:
    with pytest.raises(CalendarDataError, match=message) as err:
        parse_notice(text)
    assert err.value.line == line


def test_calendar_from_database_rows() -> None:
    rows: list[tuple[date | str, str, str]] = [
        (date(2027, 1, 1), "holiday", "元旦"),
        ("2027-02-20", "workday", "春节调休"),
    ]
    cal = WorkCalendar.from_rows(rows, [2027])
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2027, 2, 20))
    assert cal.is_published(2027)
    with pytest.raises(CalendarDataError, match="line 2: unknown kind"):
        WorkCalendar.from_rows([rows[0], ("2027-01-02", "nap", "")], [2027])


def test_calendar_from_json_round_trips_the_bundled_format() -> None:
    cal = calendar_from_json(
        '{"published_years": [2027], "days": [["2027-01-01", "holiday", "元旦"]]}'
    )
    assert cal.published_years == frozenset({2027})
    assert not cal.is_working_day(date(2027, 1, 1))


def test_bundled_file_is_what_the_generator_writes() -> None:
    # Fails after upgrading chinesecalendar until `python -m server.rules.holiday_data` is run.
    pytest.importorskip("chinese_calendar")
    from server.rules.holiday_data import DATA_FILE, build_holiday_data, dump_holiday_data

    assert DATA_FILE.read_text(encoding="utf-8") == dump_holiday_data(build_holiday_data())
