"""The county at a glance (领导驾驶舱): open approval items and projects by light, department,
stage and industry; the red list; this month's cases; each department's on-time rate.

Counts are of approval ITEMS, not tasks: an item is open while its handling task
(``handle_item``, 部门办理审批事项) is ready; a 30-minute check-in or a reminder is not an item.
Each item's light comes from :func:`server.rules.lights.item_light` with its county's calendar
and the county's warning days, exactly as the due-date sweep (``services.timers``) lights it.
A project's light is the worst light of its open items (green when none is open).

The dashboard and the lists it opens are built from the same :func:`open_items`, so a number on
the dashboard is the length of the list its link opens.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import Any, Final

from sqlalchemy import (
    DateTime,
    and_,
    case,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
)

from server.engine import clock
from server.extensions import db
from server.models import Case, User, WorkItem
from server.rules.catalog import STAGES
from server.rules.lights import Light, item_light, time_left
from server.services.calendar import county_settings, current_calendar, default_county
from server.services.catalog import current_catalog
from server.services.errors import PermissionDeniedError
from server.services.forms import form_registry
from server.services.records import code_labels
from server.services.tenancy import CountyScope, county_view

#: Who may open the dashboard: leaders, the bureau and the supervision office (督查室).
VIEWERS = frozenset({"leader", "bureau", "bureau_head", "supervision", "auditor", "admin"})
#: The task an approval item is handled in; while it is ready the item is open.
HANDLING_ELEMENT = "handle_item"
#: Items further out than this are green without being lit one by one: yellow is at most a
#: few working days before the due day, and 15 calendar days cover the longest holiday.
HORIZON = timedelta(days=15)
#: Deadlines as stored (naive UTC), without the per-row conversion of ``UTCDateTime``.
_NAIVE_DUE = type_coerce(WorkItem.due_at, DateTime()).label("due_at")
NO_STAGE = "其他"
NO_INDUSTRY = "未填写"


@dataclass(slots=True)
class OpenItem:
    """One open approval item as the dashboard and its lists show it."""

    task_id: str
    case_id: str
    reference: str
    project: str
    enterprise: str
    area: str
    code: str
    name: str
    department: str  # group code
    stage: str  # catalog stage, in words
    industry: str  # the application's industry, in words
    light: str
    overdue_days: int  # working days overdue (0 unless red)
    owner: str  # the person the task is named to or claimed by ("" when none)
    due_at: datetime | None


@dataclass(frozen=True)
class ItemFilter:
    """What a drill-down list keeps; empty fields keep everything."""

    light: str = ""
    department: str = ""
    stage: str = ""
    industry: str = ""

    def keeps(self, item: OpenItem) -> bool:
        return ((not self.light or item.light == self.light)
                and (not self.department or item.department == self.department)
                and (not self.stage or item.stage == self.stage)
                and (not self.industry or item.industry == self.industry))


@dataclass
class DepartmentRate:
    """Handling tasks a department finished, and how many of them by their due moment."""

    code: str
    finished: int = 0
    on_time: int = 0

    @property
    def rate(self) -> float | None:
        return None if not self.finished else self.on_time / self.finished


@dataclass
class Overview:
    items_total: int
    items_by_light: dict[str, int]
    items_by_department: list[tuple[str, dict[str, int]]]  # code → {light: n, "total": n}
    items_by_stage: list[tuple[str, int]]
    items_by_industry: list[tuple[str, int]]
    projects_by_light: dict[str, int]
    projects_total: int
    red: list[OpenItem]  # the first RED_SHOWN, most overdue first
    month: dict[str, int]
    month_start: date
    rates: list[DepartmentRate] = field(default_factory=list)
    trends: list[MonthTrend] = field(default_factory=list)
    red_total: int = 0  # every red item, of which ``red`` names the first RED_SHOWN


def require_viewer(user: User) -> None:
    """Raises ``PermissionDeniedError`` unless ``user`` may see the dashboard."""
    if not (user.group_codes & VIEWERS):
        raise PermissionDeniedError("only leaders, the bureau and the supervision office "
                                    "may see the dashboard")


def industry_words() -> dict[str, str]:
    """Industry code → its label on the application form (行业分类)."""

    # The newest deployment's forms at once: a ``get`` per form asked the database for the
    # newest deployment each time (35 queries, a tenth of the dashboard's time).
    return code_labels(list(form_registry().forms_of().values())).get("industry", {})


@dataclass(frozen=True, slots=True)
class _Context:
    """What the dashboard reads of a work item's context (the case summary and the item)."""

    code: str
    name: str
    department: str
    industry: str
    enterprise: str


#: task id → its context's fields. A work item's context is written once, when the task
#: opens, and never changed, so it is parsed once per process (bounded; cleared when full).
_CONTEXTS: dict[str, _Context] = {}
_CONTEXTS_MAX = 200_000


def _context_of(task_id: str, text: str | None) -> _Context:
    found = _CONTEXTS.get(task_id)
    if found is not None:
        return found
    try:
        context = json.loads(text or "{}")
    except ValueError:
        context = {}
    if not isinstance(context, dict):
        context = {}
    raw = context.get("item")
    item: dict[str, Any] = raw if isinstance(raw, dict) else {}
    found = _Context(str(item.get("code") or ""), str(item.get("name") or ""),
                     str(item.get("department") or ""), str(context.get("industry") or ""),
                     str(context.get("enterprise_name") or ""))
    if len(_CONTEXTS) >= _CONTEXTS_MAX:
        _CONTEXTS.clear()
    _CONTEXTS[task_id] = found
    return found


def item_context(task_id: str, text: str | None) -> _Context:
    """A work item's approval item (code, name, department) and case summary fields, parsed
    as the dashboard parses them (for the department scorecards, ``services.scorecards``)."""
    return _context_of(task_id, text)


class _Lighter:
    """Lights deadlines with ``item_light`` and each county's calendar and warning days.

    Deadlines fall on few distinct moments (the close of working days), so each (county,
    deadline) is lit once per call; items beyond ``HORIZON`` are green without being lit.
    """

    def __init__(self, now: datetime) -> None:

        self.now = now
        self.horizon = now + HORIZON
        self.fallback = default_county()
        self.calendars: dict[str | None, tuple[Any, int]] = {}
        self.lit: dict[tuple[str | None, datetime], tuple[str, int]] = {}
        self.zoned: dict[datetime, datetime] = {}

    def aware(self, naive: datetime | None) -> datetime | None:
        """A stored (naive UTC) deadline with its zone, made once per distinct value."""
        if naive is None:
            return None
        found = self.zoned.get(naive)
        if found is None:
            found = self.zoned[naive] = naive.replace(tzinfo=UTC)
        return found

    def __call__(self, due_at: datetime | None, county: str | None) -> tuple[str, int]:
        """(light code, working days overdue) of a deadline in ``county``."""
        if due_at is None or due_at >= self.horizon:
            return "green", 0
        county = county or self.fallback
        key = (county, due_at)
        found = self.lit.get(key)
        if found is None:

            if county not in self.calendars:
                self.calendars[county] = (current_calendar(county=county),
                                          county_settings(county).light_rule.min_days)
            calendar, warn = self.calendars[county]
            light = item_light(due_at, self.now, calendar, warn_working_days=warn)
            found = (light.code, -time_left(due_at, self.now, calendar).working_days
                     if light is Light.RED else 0)
            self.lit[key] = found
        return found


def _items_in(scope: CountyScope | None, enterprise_id: Any = None) -> list[Any]:
    """Conditions keeping the work items of ``scope``'s counties (None: every county) by the
    item's own county (its case's, 0028_work_item_county): the county's index range, no case
    looked up. An enterprise's own cases lie in every county: by the case's enterprise
    (``enterprise_id``, when the query joins ``Case``), else by the case's id."""
    if scope is None or scope.everywhere:
        return []
    if scope.enterprise_id is None:
        return [scope.condition(WorkItem.county)]
    if enterprise_id is not None:
        return [scope.condition(WorkItem.county, enterprise_id)]
    return [WorkItem.case_id.in_(scope.case_ids())]


def _open_rows(*columns: Any, case_ids: list[str] | None = None,
               task_ids: list[str] | None = None, scope: CountyScope | None = None) -> Any:
    """Core rows (not ORM ones: a third of the time) of the open handling tasks of running
    cases (of ``case_ids`` / ``task_ids`` if given), in no order: sorting 16,000 rows by
    deadline and id took PostgreSQL longer than reading them, and most callers only count.
    ``due_at`` comes back naive (UTC, as stored): of 16,000 rows there are a few dozen
    distinct deadlines, and each is zoned and lit once. ``scope``: only cases of those
    counties (``server.services.tenancy``; None: every county)."""
    return db.session.connection().execute(
        select(WorkItem.id, WorkItem.case_id, _NAIVE_DUE, Case.county, *columns)
        .join(Case, Case.id == WorkItem.case_id)
        .where(WorkItem.state == "ready", WorkItem.element_is(HANDLING_ELEMENT),
               Case.status == "running",
               *([WorkItem.case_id.in_(case_ids)] if case_ids is not None else []),
               *([WorkItem.id.in_(task_ids)] if task_ids is not None else []),
               *_items_in(scope, Case.enterprise_id))).all()


def _contexts_of(ids: list[str]) -> dict[str, _Context]:
    """The contexts of ``ids``: from the process's cache, reading from the database only
    those not seen yet (a context is about 300 bytes of JSON; 16,000 of them fetched on
    every dashboard request were a third of its time)."""
    found = {i: c for i in ids if (c := _CONTEXTS.get(i)) is not None}
    missing = [i for i in ids if i not in found]
    for start in range(0, len(missing), 1000):
        for task_id, text in db.session.connection().execute(
                select(WorkItem.id, WorkItem.context)
                .where(WorkItem.id.in_(missing[start:start + 1000]))).all():
            found[task_id] = _context_of(task_id, text)
    return found


#: (task id, case id, deadline (aware UTC), light, working days overdue, department, stage,
#: industry in words, the case's county ("" when the installation has none)): what the counts
#: need of one open item, without names or titles.
Lean = tuple[str, str, datetime | None, str, int, str, str, str, str]
LEAN_ID: Final = 0
LEAN_CASE: Final = 1
LEAN_DUE: Final = 2
LEAN_LIGHT: Final = 3
LEAN_OVERDUE: Final = 4
LEAN_DEPT: Final = 5
LEAN_STAGE: Final = 6
LEAN_INDUSTRY: Final = 7
LEAN_COUNTY: Final = 8


def _lit(rows: Any, now: datetime) -> list[Lean]:
    """Each row of ``_open_rows(WorkItem.candidate_groups, ...)`` lit and placed. Items of
    the same approval item, department and industry are placed once, each (county,
    deadline) is lit once: the loop itself is the only per-item work."""

    cache = _CONTEXTS
    read = _contexts_of([row[0] for row in rows if row[0] not in cache])
    catalog = current_catalog()
    words = industry_words()
    light_of = _Lighter(now)
    kinds: dict[tuple[str, str, str, str], tuple[str, str, str]] = {}
    lights: dict[tuple[datetime | None, str | None], tuple[datetime | None, str, int]] = {}
    out: list[Lean] = []
    append = out.append
    fallback = light_of.fallback or ""
    for task_id, case_id, due, county, groups in rows:
        context = cache.get(task_id) or read.get(task_id)
        if context is None:  # the bounded cache was cleared while the others were read
            read = _contexts_of([row[0] for row in rows])
            context = read[task_id]
        key = (context.code, context.department, context.industry, groups or "")
        kind = kinds.get(key)
        if kind is None:
            known = catalog.get(key[0]) if key[0] in catalog else None
            kind = kinds[key] = (
                key[1] or (known.department if known else "") or key[3].split(",")[0],
                known.stage if known else NO_STAGE,
                words.get(key[2], key[2]) or NO_INDUSTRY)
        lit = lights.get((due, county))
        if lit is None:
            aware = light_of.aware(due)
            lit = lights[(due, county)] = (aware, *light_of(aware, county))
        append((task_id, case_id, lit[0], lit[1], lit[2], kind[0], kind[1], kind[2],
                county or fallback))
    return out


def _due_order(item: Lean | OpenItem) -> tuple[bool, datetime, str]:
    """Oldest due first, items without a deadline last, then by task id."""
    if isinstance(item, OpenItem):
        return (item.due_at is None, item.due_at or _NEVER, item.task_id)
    return (item[LEAN_DUE] is None, item[LEAN_DUE] or _NEVER, item[LEAN_ID])


_NEVER = datetime.max.replace(tzinfo=UTC)


def lean_items(now: datetime | None = None, *, case_ids: list[str] | None = None,
               scope: CountyScope | None = None) -> list[Lean]:
    """Every open approval item of a running case (of ``case_ids`` if given, of ``scope``'s
    counties), lit and placed as ``open_items`` places it, without names or titles, in no
    order (for counting)."""
    now = now or clock.now()
    return _lit(_open_rows(WorkItem.candidate_groups, case_ids=case_ids, scope=scope), now)


def _details(lean: list[Lean], now: datetime) -> list[OpenItem]:
    """The full items of ``lean`` (a page of a list), in the same order."""

    if not lean:
        return []
    ids = [item[LEAN_ID] for item in lean]
    rows = {row[0]: row for start in range(0, len(ids), 1000)
            for row in _open_rows(WorkItem.assignee, WorkItem.claimed_by, Case.reference,
                                  Case.title, Case.area, task_ids=ids[start:start + 1000])}
    contexts = _contexts_of(ids)
    catalog = current_catalog()
    out = []
    for item in lean:
        row = rows.get(item[LEAN_ID])
        if row is None:  # closed since it was counted
            continue
        context = contexts[item[LEAN_ID]]
        code = context.code
        known = catalog.get(code) if code in catalog else None
        out.append(OpenItem(
            item[LEAN_ID], item[LEAN_CASE], row.reference, row.title, context.enterprise,
            row.area or "", code, context.name or (known.name if known else code),
            item[LEAN_DEPT], item[LEAN_STAGE], item[LEAN_INDUSTRY], item[LEAN_LIGHT],
            item[LEAN_OVERDUE], row.assignee or row.claimed_by or "", item[LEAN_DUE]))
    return out


def open_items(now: datetime | None = None, *, case_ids: list[str] | None = None,
               scope: CountyScope | None = None) -> list[OpenItem]:
    """Every open approval item of a running case (of ``case_ids`` if given, of ``scope``'s
    counties), lit, oldest due first."""

    now = now or clock.now()
    rows = _open_rows(WorkItem.candidate_groups, WorkItem.assignee, WorkItem.claimed_by,
                      Case.reference, Case.title, Case.area, case_ids=case_ids, scope=scope)
    lean = _lit([row[:5] for row in rows], now)
    contexts = _contexts_of([row[0] for row in rows])
    catalog = current_catalog()
    out = []
    for row, item in zip(rows, lean, strict=True):
        context = contexts[row.id]
        code = context.code
        known = catalog.get(code) if code in catalog else None
        # Positional arguments: cheaper than fifteen keywords, 16,000 times a request.
        out.append(OpenItem(
            row.id, row.case_id, row.reference, row.title, context.enterprise, row.area or "",
            code, context.name or (known.name if known else code), item[LEAN_DEPT],
            item[LEAN_STAGE], item[LEAN_INDUSTRY], item[LEAN_LIGHT], item[LEAN_OVERDUE],
            row.assignee or row.claimed_by or "", item[LEAN_DUE]))
    out.sort(key=_due_order)
    return out


def case_lights(now: datetime | None = None, *,
                case_ids: list[str] | None = None) -> dict[str, str]:
    """Case id → the worst light of its open items, as ``project_lights(open_items())``
    but reading only the deadlines (the case list's light filter)."""
    light_of = _Lighter(now or clock.now())
    rank = {"green": 0, "yellow": 1, "red": 2}
    worst: dict[str, str] = {}
    for row in _open_rows(case_ids=case_ids):
        light = light_of(light_of.aware(row.due_at), row.county)[0]
        if rank[light] >= rank[worst.get(row.case_id, "green")]:
            worst[row.case_id] = light
    return worst


def case_light_filter(light: str, now: datetime | None = None) -> Any:
    """A condition on ``Case``: the worst light of its open items is ``light`` (green for a
    case with none, or not running), exactly as ``case_lights`` lights it.

    The deadlines of open items fall on few distinct moments: those are read and lit once
    per county, and the database is asked for the cases with an open item due at a red
    (yellow) moment, instead of being sent thousands of case ids."""
    now = now or clock.now()
    light_of = _Lighter(now)
    dues = [light_of.aware(due) for due in db.session.connection().execute(
        select(_NAIVE_DUE).distinct()
        .where(WorkItem.element_is(HANDLING_ELEMENT), WorkItem.state == "ready",
               WorkItem.due_at.is_not(None), WorkItem.due_at < now + HORIZON)).scalars()]
    counties = list(db.session.connection().execute(
        select(Case.county).distinct().where(Case.status == "running")).scalars())
    # light → county → the moments lit so there.
    moments: dict[str, dict[str | None, list[datetime]]] = {"red": {}, "yellow": {}}
    for county in counties:
        for due in dues:
            lit = light_of(due, county)[0]
            if lit in moments and due is not None:
                moments[lit].setdefault(county, []).append(due)

    def cases_with(*lights: str) -> Any:
        """The ids of running cases with an open item due at a moment lit one of ``lights``."""
        by_county: dict[str | None, list[datetime]] = {}
        for lit in lights:
            for county, found in moments[lit].items():
                by_county.setdefault(county, []).extend(found)
        open_item = (WorkItem.element_is(HANDLING_ELEMENT), WorkItem.state == "ready")
        if len({tuple(sorted(v)) for v in by_county.values()}) <= 1 and (
                len(by_county) == len(counties)):
            # Every county lights the same moments so (one county, as a rule).
            found = next(iter(by_county.values()), [])
            return select(WorkItem.case_id).where(*open_item, WorkItem.due_at.in_(sorted(found)))
        return (select(WorkItem.case_id).join(Case, Case.id == WorkItem.case_id)
                .where(*open_item, Case.status == "running", or_(false(), *(
                    and_(Case.county.is_(None) if county is None else Case.county == county,
                         WorkItem.due_at.in_(sorted(found)))
                    for county, found in by_county.items()))))

    running = Case.status == "running"
    if light == "red":
        return and_(running, Case.id.in_(cases_with("red")))
    if light == "yellow":
        return and_(running, Case.id.in_(cases_with("yellow")),
                    Case.id.not_in(cases_with("red")))
    return or_(Case.status != "running", Case.id.not_in(cases_with("red", "yellow")))


def project_lights(items: list[OpenItem]) -> dict[str, str]:
    """Case id → the worst light of its open items (cases with none are not listed)."""
    rank = {"green": 0, "yellow": 1, "red": 2}
    worst: dict[str, str] = {}
    for item in items:
        if rank[item.light] >= rank[worst.get(item.case_id, "green")]:
            worst[item.case_id] = item.light
    return worst


def _month_start(now: datetime) -> tuple[date, datetime, datetime]:
    cal = current_calendar()
    today = cal.local_date(now)
    first = today.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return (first, datetime.combine(first, time(0), cal.tz).astimezone(UTC),
            datetime.combine(nxt, time(0), cal.tz).astimezone(UTC))


def month_counts(now: datetime | None = None) -> tuple[date, dict[str, int]]:
    """This month's (local time) new, finished and terminated cases."""
    first, start, end = _month_start(now or clock.now())
    new = db.session.execute(select(func.count(Case.id)).where(
        Case.started_at >= start, Case.started_at < end)).scalar_one()
    ended = dict(db.session.execute(
        select(Case.status, func.count(Case.id)).where(
            Case.ended_at >= start, Case.ended_at < end,
            Case.status.in_(("completed", "terminated"))).group_by(Case.status)).all())
    return first, {"new": int(new), "completed": int(ended.get("completed", 0)),
                   "terminated": int(ended.get("terminated", 0))}


@dataclass
class MonthTrend:
    """One local month's new, finished and terminated cases; ``end`` is the next month's 1st."""

    start: date
    end: date
    new: int = 0
    completed: int = 0
    terminated: int = 0


def month_trends(now: datetime | None = None, months: int = 6, *,
                 scope: CountyScope | None = None) -> list[MonthTrend]:
    """The last ``months`` months (this one included), oldest first; of ``scope``'s
    counties' cases (None: every county)."""
    cal = current_calendar()
    first, _, _ = _month_start(now or clock.now())
    starts = [first]
    for _ in range(months - 1):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    trends = {d: MonthTrend(d, (d + timedelta(days=32)).replace(day=1)) for d in starts}

    def at(day: date) -> datetime:
        return datetime.combine(day, time(0), cal.tz).astimezone(UTC)

    # One pass over the cases, a sum per month and figure (no row comes back to Python).
    def in_month(column: Any, m: MonthTrend, *where: Any) -> Any:
        return func.sum(case((and_((column >= at(m.start)) & (column < at(m.end)), *where), 1),
                             else_=0))

    figures = [("new", Case.started_at, ()),
               ("completed", Case.ended_at, (Case.status == "completed",)),
               ("terminated", Case.ended_at, (Case.status == "terminated",))]
    found = db.session.execute(select(*(
        in_month(column, m, *where) for _, column, where in figures for m in trends.values()))
        .where(or_(Case.started_at >= at(starts[0]), Case.ended_at >= at(starts[0])),
               _in_scope(scope))).one()
    sums = iter(found)
    for name, _, _ in figures:
        for trend in trends.values():
            setattr(trend, name, int(next(sums) or 0))
    return [trends[d] for d in starts]


def month_range(now: datetime | None = None) -> tuple[date, date]:
    """The first day of this month and of the next (local dates), for list filters."""
    first, _, _ = _month_start(now or clock.now())
    return first, (first + timedelta(days=32)).replace(day=1)


def _in_scope(scope: CountyScope | None) -> Any:
    """A condition on ``Case``: its county lies in ``scope`` (None: always true)."""
    return true() if scope is None else scope.case_condition()


#: A finished handling task done by its due moment (or with none) counts 1.
_ON_TIME = case((WorkItem.due_at.is_(None), 1), (WorkItem.completed_at <= WorkItem.due_at, 1),
                else_=0)
_FINISHED = (WorkItem.element_is(HANDLING_ELEMENT), WorkItem.state == "completed")


def department_rates(scope: CountyScope | None = None) -> list[DepartmentRate]:
    """Each department's finished handling tasks and how many were done by the due moment
    (of ``scope``'s counties' cases; None: every county). ``count(*)``, not of the id: on
    PostgreSQL the rows are read from the index alone (0028_work_item_county)."""
    return merged_rates(db.session.execute(
        select(WorkItem.candidate_groups, func.count(), func.sum(_ON_TIME))
        .where(*_FINISHED, *_items_in(scope))
        .group_by(WorkItem.candidate_groups)).all())


def department_rates_by_county(default: str) -> dict[str, list[DepartmentRate]]:
    """County → ``department_rates`` of that county's cases (those with no county the
    ``default`` county's), every county in one query (the prefecture's roll-up)."""
    found: dict[str, list[Any]] = {}
    for county, *row in db.session.execute(
            select(WorkItem.county, WorkItem.candidate_groups, func.count(),
                   func.sum(_ON_TIME)).where(*_FINISHED)
            .group_by(WorkItem.county, WorkItem.candidate_groups)).all():
        found.setdefault(county or default, []).append(row)
    return {county: merged_rates(rows) for county, rows in found.items()}


def merged_rates(rows: Any) -> list[DepartmentRate]:
    """(candidate groups, finished, on time) rows summed by department (the first group),
    by code."""
    rates: dict[str, DepartmentRate] = {}
    for groups, finished, in_time in rows:
        code = groups.split(",")[0] if groups else ""
        rate = rates.setdefault(code, DepartmentRate(code))
        rate.finished += int(finished)
        rate.on_time += int(in_time or 0)
    return sorted(rates.values(), key=lambda r: r.code)


#: How many red items the dashboard lists by name (the rest are one click away).
RED_SHOWN = 50


def overview(user: User, now: datetime | None = None, county: str = "") -> Overview:
    """The dashboard's figures (of one ``county`` of the user's, as its own users see them;
    "": all the user's). Raises ``PermissionDeniedError`` (see ``require_viewer``),
    ``NotFoundError`` (a county not the user's)."""
    require_viewer(user)
    now = now or clock.now()
    scope = county_view(user, county)
    return overview_of(lean_items(now, scope=scope), scope, now)


def overview_of(items: list[Lean], scope: CountyScope, now: datetime,
                rates: list[DepartmentRate] | None = None) -> Overview:
    """The dashboard's figures of ``scope``'s ``items`` (``lean_items`` of it) and, if
    given, its ``rates`` (``department_rates`` of it).

    Counted from ``lean_items`` (no names, titles or owners for 16,000 items); only the
    ``RED_SHOWN`` red items the page names are read in full."""
    # One pass over the items, counting each (department, light, stage, industry): a few
    # hundred groups, from which every breakdown below is summed.
    groups = Counter(map(itemgetter(LEAN_DEPT, LEAN_LIGHT, LEAN_STAGE, LEAN_INDUSTRY), items))
    by_light: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    stages: Counter[str] = Counter()
    industries: Counter[str] = Counter()
    for (department, light, stage, industry), n in groups.items():
        by_light[light] += n
        pairs[(department, light)] += n
        stages[stage] += n
        industries[industry] += n
    departments: dict[str, Counter[str]] = {}
    for (code, light), n in pairs.items():
        departments.setdefault(code, Counter())[light] = n
    by_department = sorted(
        ((code, {**{k: c[k] for k in ("red", "yellow", "green")}, "total": sum(c.values())})
         for code, c in departments.items()),
        key=lambda kv: (-kv[1]["red"], -kv[1]["total"], kv[0]))

    order = {s: n for n, s in enumerate(STAGES)}
    running = db.session.execute(
        select(func.count(Case.id)).where(Case.status == "running", _in_scope(scope))
    ).scalar_one()
    projects = Counter(worst_lights(items).values())
    lit_projects = sum(projects.values())
    trends = month_trends(now, scope=scope)
    # This month's figures are the last month of the trends (the same local month bounds
    # and statuses as ``month_counts``).
    first = trends[-1].start
    month = {"new": trends[-1].new, "completed": trends[-1].completed,
             "terminated": trends[-1].terminated}
    red = sorted((i for i in items if i[LEAN_LIGHT] == "red"),
                 key=lambda i: (-i[LEAN_OVERDUE], i[LEAN_DUE] or now, i[LEAN_ID]))
    return Overview(
        items_total=len(items),
        items_by_light={k: by_light.get(k, 0) for k in ("red", "yellow", "green")},
        items_by_department=by_department,
        items_by_stage=sorted(stages.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])),
        items_by_industry=sorted(industries.items(), key=lambda kv: (-kv[1], kv[0])),
        projects_by_light={"red": projects.get("red", 0), "yellow": projects.get("yellow", 0),
                           # A running project with no open item has nothing late: green.
                           "green": projects.get("green", 0) + int(running) - lit_projects},
        projects_total=int(running), red=_details(red[:RED_SHOWN], now), red_total=len(red),
        month=month, month_start=first,
        rates=department_rates(scope) if rates is None else rates, trends=trends)


def worst_lights(items: list[Lean]) -> dict[str, str]:
    """Case id → the worst light of its open items (as ``project_lights``): the green, then
    the yellow, then the red items' cases, each light writing over the milder ones."""
    worst = {i[LEAN_CASE]: "green" for i in items if i[LEAN_LIGHT] == "green"}
    worst.update({i[LEAN_CASE]: "yellow" for i in items if i[LEAN_LIGHT] == "yellow"})
    worst.update({i[LEAN_CASE]: "red" for i in items if i[LEAN_LIGHT] == "red"})
    return worst


def filtered_items(user: User, wanted: ItemFilter, now: datetime | None = None,
                   county: str = "") -> list[OpenItem]:
    """The open items a dashboard number counts (of one ``county`` of the user's; "": all
    the user's). Raises ``PermissionDeniedError``, ``NotFoundError``."""
    require_viewer(user)
    return [i for i in open_items(now, scope=county_view(user, county)) if wanted.keeps(i)]


def filtered_page(user: User, wanted: ItemFilter, page: int, per_page: int,
                  now: datetime | None = None, county: str = "") -> tuple[list[OpenItem], int]:
    """One page of ``filtered_items`` (oldest due first) and how many there are in all: the
    items are filtered lean and only the page's are read in full. Raises
    ``PermissionDeniedError``, ``NotFoundError``."""
    require_viewer(user)
    now = now or clock.now()
    found = [i for i in lean_items(now, scope=county_view(user, county))
             if (not wanted.light or i[LEAN_LIGHT] == wanted.light)
             and (not wanted.department or i[LEAN_DEPT] == wanted.department)
             and (not wanted.stage or i[LEAN_STAGE] == wanted.stage)
             and (not wanted.industry or i[LEAN_INDUSTRY] == wanted.industry)]
    found.sort(key=_due_order)
    start = (max(1, page) - 1) * per_page
    return _details(found[start:start + per_page], now), len(found)
