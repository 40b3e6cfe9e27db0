"""The prefecture's roll-up (issue 21): its leaders see every county side by side — open
approval items by light, red (overdue) items and projects, the on-time rate, 差评 and
complaints, running cases — and compare the counties.

Each county's figures are the ones its own leader's dashboard shows: the open items are the
same ``dashboard.lean_items`` (lit with the county's calendar and warning days), the on-time
rate the sum of the same ``dashboard.department_rates`` of the county's scope; only a user of
the prefecture (``users.county`` NULL) sees the comparison.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select

from server.engine import clock
from server.extensions import db
from server.models import Case, Complaint, County, User, WorkItem
from server.services import dashboard
from server.services.calendar import current_calendar
from server.services.complaints import UPHELD
from server.services.errors import PermissionDeniedError
from server.services.tenancy import CountyScope, county_scope

#: The task the process opens for a rating of 2 or less (满意度不高于2级: 差评), as the
#: department scorecards count it (``services.scorecards``).
BAD_RATING_ELEMENT = "call_back_and_rectify"
LIGHTS = ("red", "yellow", "green")


@dataclass
class CountyRow:
    """One county's figures, as its own leaders see them."""

    code: str
    name: str
    items: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LIGHTS, 0))
    projects: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LIGHTS, 0))
    running: int = 0  # running cases (在办项目)
    month_new: int = 0  # cases started this (local) month
    finished: int = 0  # approval items finished, all time
    on_time: int = 0  # of them by their due moment
    bad_ratings: int = 0  # cases rated 差 (差评), all time
    complaints: int = 0  # complaints filed, all time
    complaints_upheld: int = 0  # of them decided 成立 or 部分成立

    @property
    def items_total(self) -> int:
        return sum(self.items.values())

    @property
    def rate(self) -> float | None:
        """The on-time rate (按时办结率), None before anything was finished."""
        return None if not self.finished else self.on_time / self.finished


@dataclass
class Rollup:
    """The prefecture's dashboard: the pooled overview and the counties side by side."""

    overview: dashboard.Overview
    counties: list[CountyRow]


def is_prefecture(user: User) -> bool:
    """True for a user of the prefecture (no county: sees every county)."""
    return county_scope(user).everywhere


def require_prefecture(user: User) -> None:
    """Raises ``PermissionDeniedError`` unless ``user`` may see the dashboard and belongs to
    the prefecture (a county's users never see the comparison)."""
    dashboard.require_viewer(user)
    if not is_prefecture(user):
        raise PermissionDeniedError("only the prefecture compares counties")


def one_county(code: str, default: str | None) -> CountyScope:
    """The scope a user of ``code`` has (its cases; the default county's also those with
    no county)."""
    return CountyScope(frozenset({code}), default)


def _per_county(rows: Sequence[Any], default: str) -> Counter[str]:
    """Grouped counts by a county column, the NULLs (before tenancy) the default county's."""
    found: Counter[str] = Counter()
    for county, n in rows:
        found[county or default] += int(n)
    return found


def _within(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    return [] if start is None or end is None else [column >= start, column < end]


def bad_ratings_by_county(default: str, start: datetime | None = None,
                          end: datetime | None = None) -> Counter[str]:
    """County → cases rated 差 (the 差评 step opened, in [start, end) if given; a case
    rated twice counts once)."""
    # The few rated cases first (by the element's index), then their counties.
    return _per_county(db.session.execute(
        select(Case.county, func.count(Case.id))
        .where(Case.id.in_(select(WorkItem.case_id).where(
            WorkItem.element_is(BAD_RATING_ELEMENT),
            *_within(WorkItem.created_at, start, end))))
        .group_by(Case.county)).all(), default)


def complaints_by_county(default: str, start: datetime | None = None,
                         end: datetime | None = None) -> tuple[Counter[str], Counter[str]]:
    """County → complaints filed, and complaints decided 成立 or 部分成立 (each in
    [start, end) if given)."""
    filed = _per_county(db.session.execute(
        select(Complaint.county, func.count(Complaint.id))
        .where(*_within(Complaint.filed_at, start, end))
        .group_by(Complaint.county)).all(), default)
    upheld = _per_county(db.session.execute(
        select(Complaint.county, func.count(Complaint.id))
        .where(Complaint.result.in_(UPHELD), *_within(Complaint.decided_at, start, end))
        .group_by(Complaint.county)).all(), default)
    return filed, upheld


def started_by_county(now: datetime, default: str) -> Counter[str]:
    """County → cases started this local month (each county's ``dashboard.month_trends``
    "new" of this month, in one grouped query rather than one query a county)."""
    first, following = dashboard.month_range(now)
    tz = current_calendar().tz

    def at(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    return _per_county(db.session.execute(
        select(Case.county, func.count(Case.id))
        .where(Case.started_at >= at(first), Case.started_at < at(following))
        .group_by(Case.county)).all(), default)


def rollup(user: User, now: datetime | None = None) -> Rollup:
    """The pooled dashboard and each county's figures, from one reading of the open items.
    Raises ``PermissionDeniedError`` (see ``require_prefecture``)."""
    require_prefecture(user)
    now = now or clock.now()
    scope = county_scope(user)
    items = dashboard.lean_items(now, scope=scope)
    # Every county's department rates in one query; the prefecture's are their sum.
    rates = dashboard.department_rates_by_county(scope.default or "")
    board = dashboard.overview_of(items, scope, now, dashboard.merged_rates(
        (r.code, r.finished, r.on_time) for found in rates.values() for r in found))
    return Rollup(board, county_rows(items, rates, now, scope.default))


def county_rows(items: list[dashboard.Lean], rates: dict[str, list[dashboard.DepartmentRate]],
                now: datetime, default: str | None) -> list[CountyRow]:
    """Each county's row (the default county first, then by code) from every county's open
    ``items`` and ``rates`` (``dashboard.department_rates_by_county``)."""
    counties = list(db.session.execute(
        select(County.code, County.name).order_by(County.is_default.desc(), County.code)))
    fallback = default or ""
    rows = {code: CountyRow(code, name) for code, name in counties}
    # One pass each over the items: (county, light) counts, and each case's worst light
    # (a case lies in one county) counted by county.
    lit_items = Counter(map(itemgetter(dashboard.LEAN_COUNTY, dashboard.LEAN_LIGHT), items))
    county_of = {i[dashboard.LEAN_CASE]: i[dashboard.LEAN_COUNTY] for i in items}
    lit_projects = Counter((county_of[case_id], light)
                           for case_id, light in dashboard.worst_lights(items).items())
    running = _per_county(db.session.execute(
        select(Case.county, func.count(Case.id)).where(Case.status == "running")
        .group_by(Case.county)).all(), fallback)
    bad = bad_ratings_by_county(fallback)
    filed, upheld = complaints_by_county(fallback)
    month_new = started_by_county(now, fallback)
    for code, row in rows.items():
        row.items = {light: lit_items[(code, light)] for light in LIGHTS}
        lit = {light: lit_projects[(code, light)] for light in LIGHTS}
        row.running = running[code]
        # A running project with no open item has nothing late: green (as the dashboard).
        row.projects = {"red": lit["red"], "yellow": lit["yellow"],
                        "green": lit["green"] + row.running - sum(lit.values())}
        row.month_new = month_new[code]
        for rate in rates.get(code, []):
            row.finished += rate.finished
            row.on_time += rate.on_time
        row.bad_ratings = bad[code]
        row.complaints, row.complaints_upheld = filed[code], upheld[code]
    return list(rows.values())
