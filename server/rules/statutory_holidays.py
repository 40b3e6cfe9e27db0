"""Statutory holidays known years ahead (法定节假日), for years whose notice is not out yet.

《全国年节及纪念日放假办法》 (as revised by the State Council on 2024-11-10, in force from
2025-01-01), Art. 2, fixes the days every citizen has off:

* 元旦 1 day (1 January); 劳动节 2 days (1 and 2 May); 国庆节 3 days (1–3 October) — fixed dates;
* 春节 4 days (农历除夕 and 正月初一至初三); 端午节 1 day (农历五月初五); 中秋节 1 day
  (农历八月十五) — lunar dates, converted with the ``lunardate`` library;
* 清明节 1 day (农历清明当日) — a solar term, taken from ``chinesecalendar``'s solar-term table.

What a year's notice adds (调休: bridging days off and the weekend days worked to pay for them,
and the weekday off when a holiday falls on a weekend, Art. 6) cannot be known before the
State Council publishes it, so deadlines counted over such a year stay *provisional*
(:mod:`server.rules.workdays`). Local days off for ethnic festivals (Art. 4) come from each
prefecture's own notice and belong to a county's calendar, not here.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from chinese_calendar import get_solar_terms
from lunardate import LunarDate

#: The first year the 2024 revision's rules apply (春节 4 days, 劳动节 2 days).
RULES_FROM_YEAR = 2025


def _lunar(year: int, month: int, day: int) -> date:

    return LunarDate(year, month, day).to_solar_date()  # type: ignore[no-any-return]


def _qingming(year: int) -> date:

    for day, name in get_solar_terms(date(year, 4, 1), date(year, 4, 10)):
        if name == "清明":
            return day  # type: ignore[no-any-return]
    raise ValueError(f"no 清明 found for {year}")  # pragma: no cover - the table covers 1900–2100


@cache
def statutory_holidays(year: int) -> tuple[tuple[date, str], ...]:
    """The statutory days off of ``year`` as ``(date, name)``, in date order.

    Raises ValueError for a year before :data:`RULES_FROM_YEAR` (those years are published in
    the bundled calendar, whose notices were made under the earlier rules) or beyond the lunar
    tables (2099).
    """
    if year < RULES_FROM_YEAR:
        raise ValueError(f"the statutory-holiday rules used here apply from {RULES_FROM_YEAR}")
    spring = _lunar(year, 1, 1)
    days = [
        (date(year, 1, 1), "元旦"),
        (spring - timedelta(days=1), "春节"),  # 除夕: the last day of the lunar year
        (spring, "春节"),
        (spring + timedelta(days=1), "春节"),
        (spring + timedelta(days=2), "春节"),
        (_qingming(year), "清明节"),
        (date(year, 5, 1), "劳动节"),
        (date(year, 5, 2), "劳动节"),
        (_lunar(year, 5, 5), "端午节"),
        (_lunar(year, 8, 15), "中秋节"),
        (date(year, 10, 1), "国庆节"),
        (date(year, 10, 2), "国庆节"),
        (date(year, 10, 3), "国庆节"),
    ]
    # 春节 falls between 21 January and 20 February, so every day here lies in ``year``.
    return tuple(sorted(days))


def statutory_holiday(day: date) -> str | None:
    """The name of the statutory holiday on ``day``, if any (None before :data:`RULES_FROM_YEAR`
    and beyond the lunar tables)."""
    if day.year < RULES_FROM_YEAR:
        return None
    try:
        return dict(statutory_holidays(day.year)).get(day)
    except ValueError:
        return None
