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
from typing import Any

from sqlalchemy import DateTime, case, func, select, type_coerce

from server.engine import clock
from server.extensions import db
from server.models import Case, User, WorkItem
from server.rules.lights import Light, item_light, time_left
from server.services.calendar import current_calendar
from server.services.errors import PermissionDeniedError

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
    red: list[OpenItem]
    month: dict[str, int]
    month_start: date
    rates: list[DepartmentRate] = field(default_factory=list)
    trends: list[MonthTrend] = field(default_factory=list)


def require_viewer(user: User) -> None:
    """Raises ``PermissionDeniedError`` unless ``user`` may see the dashboard."""
    if not (user.group_codes & VIEWERS):
        raise PermissionDeniedError("only leaders, the bureau and the supervision office "
                                    "may see the dashboard")


def industry_words() -> dict[str, str]:
    """Industry code → its label on the application form (行业分类)."""
    from server.services.forms import form_registry
    from server.services.records import code_labels

    registry = form_registry()
    forms = [registry.get(k) for k in registry.ids()]
    return code_labels([f for f in forms if f is not None]).get("industry", {})


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
        from server.services.calendar import default_county

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
            from server.services.calendar import county_settings, current_calendar

            if county not in self.calendars:
                self.calendars[county] = (current_calendar(county=county),
                                          county_settings(county).light_rule.min_days)
            calendar, warn = self.calendars[county]
            light = item_light(due_at, self.now, calendar, warn_working_days=warn)
            found = (light.code, -time_left(due_at, self.now, calendar).working_days
                     if light is Light.RED else 0)
            self.lit[key] = found
        return found


def _open_rows(*columns: Any, case_ids: list[str] | None = None) -> Any:
    """Core rows (not ORM ones: a third of the time) of the open handling tasks of running
    cases, oldest due first. ``due_at`` comes back naive (UTC, as stored): of 16,000 rows
    there are a few dozen distinct deadlines, and ``_Lighter.aware`` zones each once."""
    return db.session.connection().execute(
        select(WorkItem.id, WorkItem.case_id, _NAIVE_DUE, Case.county, *columns)
        .join(Case, Case.id == WorkItem.case_id)
        .where(WorkItem.state == "ready", WorkItem.element_id == HANDLING_ELEMENT,
               Case.status == "running",
               *([WorkItem.case_id.in_(case_ids)] if case_ids is not None else []))
        .order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id)).all()


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


def open_items(now: datetime | None = None, *,
               case_ids: list[str] | None = None) -> list[OpenItem]:
    """Every open approval item of a running case (of ``case_ids`` if given), lit, oldest
    due first."""
    from server.services.catalog import current_catalog

    now = now or clock.now()
    rows = _open_rows(WorkItem.assignee, WorkItem.claimed_by, WorkItem.candidate_groups,
                      Case.reference, Case.title, Case.area, case_ids=case_ids)
    contexts = _contexts_of([row.id for row in rows])
    catalog = current_catalog()
    words = industry_words()
    light_of = _Lighter(now)
    out = []
    for row in rows:
        context = contexts[row.id]
        code = context.code
        known = catalog.get(code) if code in catalog else None
        department = (context.department or (known.department if known else "")
                      or row.candidate_groups.split(",")[0])
        industry = context.industry
        due_at = light_of.aware(row.due_at)
        light, overdue = light_of(due_at, row.county)
        # Positional arguments: cheaper than fifteen keywords, 16,000 times a request.
        out.append(OpenItem(
            row.id, row.case_id, row.reference, row.title, context.enterprise, row.area or "",
            code, context.name or (known.name if known else code), department,
            known.stage if known else NO_STAGE, words.get(industry, industry) or NO_INDUSTRY,
            light, overdue, row.assignee or row.claimed_by or "", due_at))
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


def month_trends(now: datetime | None = None, months: int = 6) -> list[MonthTrend]:
    """The last ``months`` months (this one included), oldest first."""
    cal = current_calendar()
    first, _, _ = _month_start(now or clock.now())
    starts = [first]
    for _ in range(months - 1):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    trends = {d: MonthTrend(d, (d + timedelta(days=32)).replace(day=1)) for d in starts}

    def at(day: date) -> datetime:
        return datetime.combine(day, time(0), cal.tz).astimezone(UTC)

    # One pass per column, a sum per month (no row comes back to Python).
    def per_month(column: Any, *where: Any) -> list[int]:
        sums = [func.sum(case(((column >= at(m.start)) & (column < at(m.end)), 1), else_=0))
                for m in trends.values()]
        found = db.session.execute(select(*sums).where(
            column >= at(starts[0]), *where)).one()
        return [int(n or 0) for n in found]

    for trend, n in zip(trends.values(), per_month(Case.started_at), strict=True):
        trend.new = n
    for status in ("completed", "terminated"):
        for trend, n in zip(trends.values(), per_month(Case.ended_at, Case.status == status),
                            strict=True):
            setattr(trend, status, n)
    return [trends[d] for d in starts]


def month_range(now: datetime | None = None) -> tuple[date, date]:
    """The first day of this month and of the next (local dates), for list filters."""
    first, _, _ = _month_start(now or clock.now())
    return first, (first + timedelta(days=32)).replace(day=1)


def department_rates() -> list[DepartmentRate]:
    """Each department's finished handling tasks and how many were done by the due moment."""
    on_time = case((WorkItem.due_at.is_(None), 1), (WorkItem.completed_at <= WorkItem.due_at, 1),
                   else_=0)
    rows = db.session.execute(
        select(WorkItem.candidate_groups, func.count(WorkItem.id), func.sum(on_time))
        .where(WorkItem.element_id == HANDLING_ELEMENT, WorkItem.state == "completed")
        .group_by(WorkItem.candidate_groups)).all()
    rates: dict[str, DepartmentRate] = {}
    for groups, finished, in_time in rows:
        code = groups.split(",")[0] if groups else ""
        rate = rates.setdefault(code, DepartmentRate(code))
        rate.finished += int(finished)
        rate.on_time += int(in_time or 0)
    return sorted(rates.values(), key=lambda r: r.code)


def overview(user: User, now: datetime | None = None) -> Overview:
    """The dashboard's figures. Raises ``PermissionDeniedError`` (see ``require_viewer``)."""
    require_viewer(user)
    now = now or clock.now()
    items = open_items(now)
    by_light = Counter(i.light for i in items)
    # One count per (department, light) pair: a Counter per item was a tenth of the time.
    pairs = Counter((i.department, i.light) for i in items)
    departments: dict[str, Counter[str]] = {}
    for (code, light), n in pairs.items():
        departments.setdefault(code, Counter())[light] = n
    by_department = sorted(
        ((code, {**{k: c[k] for k in ("red", "yellow", "green")}, "total": sum(c.values())})
         for code, c in departments.items()),
        key=lambda kv: (-kv[1]["red"], -kv[1]["total"], kv[0]))
    from server.rules.catalog import STAGES

    stages = Counter(i.stage for i in items)
    order = {s: n for n, s in enumerate(STAGES)}
    running = db.session.execute(
        select(func.count(Case.id)).where(Case.status == "running")).scalar_one()
    projects = Counter(project_lights(items).values())
    lit_projects = sum(projects.values())
    first, month = month_counts(now)
    red = sorted((i for i in items if i.light == "red"),
                 key=lambda i: (-i.overdue_days, i.due_at or now, i.task_id))
    return Overview(
        items_total=len(items),
        items_by_light={k: by_light.get(k, 0) for k in ("red", "yellow", "green")},
        items_by_department=by_department,
        items_by_stage=sorted(stages.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])),
        items_by_industry=sorted(Counter(i.industry for i in items).items(),
                                 key=lambda kv: (-kv[1], kv[0])),
        projects_by_light={"red": projects.get("red", 0), "yellow": projects.get("yellow", 0),
                           # A running project with no open item has nothing late: green.
                           "green": projects.get("green", 0) + int(running) - lit_projects},
        projects_total=int(running), red=red, month=month, month_start=first,
        rates=department_rates(), trends=month_trends(now))


def filtered_items(user: User, wanted: ItemFilter,
                   now: datetime | None = None) -> list[OpenItem]:
    """The open items a dashboard number counts. Raises ``PermissionDeniedError``."""
    require_viewer(user)
    return [i for i in open_items(now) if wanted.keeps(i)]
