"""Read models of the staff workspace: task rows with lights, case pages, node progress.

Everything here only reads; the use cases that change something live in ``tasks``, ``cases``
and ``attachments``. Lights and working days left follow ``server.rules.lights`` with the
default calendar and the engine clock, so the list, the case page and the portal agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from lxml import etree
from sqlalchemy import JSON, Select, and_, cast, func, or_, select, type_coerce

from server.engine import clock
from server.extensions import db
from server.models import (
    AuditEvent,
    Case,
    CaseProject,
    Deployment,
    Group,
    User,
    WorkItem,
    WorkItemGroup,
)
from server.rules.lights import WARN_WORKING_DAYS, Light, item_light, time_left
from server.rules.workdays import WorkCalendar
from server.services import access, dashboard, tenancy
from server.services.calendar import case_county, current_calendar
from server.services.office_time import late_call_grace_ends
from server.services.store import case_store

# The one query of "tasks this user may work on"; shared so the list and the API agree.
from server.services.tasks import BY_DUE, TaskQuery, page_of, task_query

LIGHTS = ("red", "yellow", "green")
SORTS = ("due", "-due", "created")


def calendar() -> WorkCalendar:
    """The calendar lights and days-left count with, including loaded notices."""
    return current_calendar()


@dataclass
class Row:
    """One work item as a list shows it."""

    item: WorkItem
    light: str | None
    light_label: str
    time_left: str
    working_days: int | None
    case_title: str
    case_reference: str
    item_name: str = ""


@dataclass
class RowPage:
    rows: list[Row]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class ListQuery:
    scope: str = "all"  # mine | groups | all
    department: str | None = None
    stage: str | None = None
    light: str | None = None
    due_before: datetime | None = None
    q: str = ""  # the case's project, enterprise, credit code, 项目代码 or case number
    sort: str = "due"
    page: int = 1
    per_page: int = 25


def row_for(item: WorkItem, now: datetime | None = None) -> Row:
    now = now or clock.now()
    approval_item = json.loads(item.context or "{}").get("item") or {}
    item_name = str(approval_item.get("name", "")) if isinstance(approval_item, dict) else ""
    if item.due_at is None or item.state != "ready":
        return Row(item, None, "", "", None, item.case.title, item.case.reference, item_name)

    # Each case counts with its county's calendar (local days off, office hours).
    cal = current_calendar(county=case_county(item.case))
    light = item_light(item.due_at, now, cal)
    left = time_left(item.due_at, now, cal)
    if light is Light.RED:
        grace = late_call_grace_ends(item)
        if grace is not None and now < grace:
            light = Light.YELLOW  # 原则上30分钟: late, within the county's grace
    return Row(item, light.code, light.label_zh, left.label_zh, left.working_days,
               item.case.title, item.case.reference, item_name)


def yellow_boundary(now: datetime) -> datetime:
    """The first moment whose light is green: the start of the day after the warning days.

    ``item_light`` is yellow while the due day is at most ``WARN_WORKING_DAYS`` working days
    after today; the next working day after those is the first green day.
    """
    cal = calendar()
    day = cal.local_date(now)
    for _ in range(WARN_WORKING_DAYS + 1):
        day = cal.next_working_day(day)
    return datetime.combine(day, time(0), cal.tz).astimezone(UTC)


def _light_condition(light: str, now: datetime) -> Any:
    if light == "red":
        return WorkItem.due_at < now
    boundary = yellow_boundary(now)
    if light == "yellow":
        return (WorkItem.due_at >= now) & (WorkItem.due_at < boundary)
    return or_(WorkItem.due_at.is_(None), WorkItem.due_at >= boundary)


def task_rows(user: User, query: ListQuery) -> RowPage:
    """Ready tasks the user may work on, filtered and sorted, with the true total (the same
    query and pagination as the API's task list, plus lights and search)."""
    now = clock.now()
    found_query = task_query(user, scope=query.scope, department=query.department,
                             stage=query.stage, due_before=query.due_before)
    stmt = found_query.statement
    if query.light in LIGHTS:
        stmt = stmt.where(_light_condition(query.light, now))
    if query.q.strip():
        stmt = stmt.where(WorkItem.case_id.in_(_search(select(Case.id), query.q)))
    order: tuple[Any, ...]
    order_key = query.sort
    if query.sort == "-due":
        order = (WorkItem.due_at.is_(None), WorkItem.due_at.desc(), WorkItem.created_at,
                 WorkItem.id)
    elif query.sort == "created":
        order = (WorkItem.created_at.desc(), WorkItem.id)
    else:
        order, order_key = BY_DUE, "due"
    found = page_of(TaskQuery(stmt, found_query.params, kept=stmt is found_query.statement),
                    order, query.page, query.per_page, order_key=order_key)
    return RowPage([row_for(i, now) for i in found.items], found.total, found.page,
                   found.per_page)


def stages() -> list[str]:
    return [s for s in db.session.execute(
        select(WorkItem.stage).where(WorkItem.state == "ready").distinct()).scalars() if s]


# ---- cases -------------------------------------------------------------------------------

@dataclass
class CaseQuery:
    """The case list's search box and filters; empty fields keep everything.

    ``q`` finds a case by project name, enterprise, credit code (in the case summary),
    项目代码 (``case_projects``) or case number. ``light`` and ``stage`` are those of the
    case's open approval items (``services.dashboard``), so the list counts what the dashboard
    counts; ``department``: the case has an approval item of that department. Dates are local
    days, ``*_to`` exclusive.
    """

    q: str = ""
    status: str | None = None
    light: str = ""
    department: str = ""
    stage: str = ""
    area: str = ""
    started_from: date | None = None
    started_to: date | None = None
    ended_from: date | None = None
    ended_to: date | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: The case summary's fields the search box looks in (the summary is JSON text).
SEARCHED_SUMMARY = ("enterprise_name", "credit_code", "project_name")


def _summary_field(key: str) -> Any:
    """One text field of the case summary, on PostgreSQL (``->>``) and SQLite (json_extract)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(Case.summary, JSON)[key].as_string()
    return type_coerce(Case.summary, JSON)[key].as_string()


def _day_start(day: date) -> datetime:
    cal = calendar()
    return datetime.combine(day, time(0), cal.tz).astimezone(UTC)


def _search(stmt: Select[Any], text: str) -> Select[Any]:
    """Cases whose project name, enterprise, credit code, 项目代码 or number contains ``text``
    (case-insensitive; ``%`` and ``_`` are taken literally)."""

    pattern = _like(text.strip())
    in_summary = or_(*(_summary_field(key).ilike(pattern, escape="\\")
                       for key in SEARCHED_SUMMARY))
    if not _JSON_ESCAPED.search(text):
        # The summary is JSON written with ensure_ascii=False: a field holds the text only
        # if the raw JSON does, and that test is far cheaper than parsing the JSON of every
        # case (the search took 150 ms with 10,000 cases on PostgreSQL). A text JSON would
        # escape (quote, backslash, control characters) is looked for in the fields only.
        in_summary = and_(Case.summary.ilike(pattern, escape="\\"), in_summary)
    return stmt.where(or_(
        Case.title.ilike(pattern, escape="\\"), Case.reference.ilike(pattern, escape="\\"),
        in_summary,
        Case.id.in_(select(CaseProject.case_id).where(
            CaseProject.project_code.ilike(pattern, escape="\\")))))


#: What ``json.dumps(..., ensure_ascii=False)`` writes otherwise than as the character itself.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def _filtered(stmt: Select[Case], query: CaseQuery,
              scope: tenancy.CountyScope | None = None) -> Select[Case]:
    if query.status:
        stmt = stmt.where(Case.status == query.status)
    if query.q.strip():
        stmt = _search(stmt, query.q)
    if query.area:
        stmt = stmt.where(Case.area == query.area)
    if query.department:
        stmt = stmt.where(Case.id.in_(
            select(WorkItem.case_id).join(WorkItemGroup, WorkItemGroup.work_item_id == WorkItem.id)
            .where(WorkItem.element_id == dashboard.HANDLING_ELEMENT,
                   WorkItemGroup.group_code == query.department)))
    for column, start, end in ((Case.started_at, query.started_from, query.started_to),
                               (Case.ended_at, query.ended_from, query.ended_to)):
        if start is not None:
            stmt = stmt.where(column >= _day_start(start))
        if end is not None:
            stmt = stmt.where(column < _day_start(end))
    if query.stage:
        # The stage's open items, placed and lit as the dashboard counts them (lean: no
        # names or titles are read for them).
        lean = [i for i in dashboard.lean_items(scope=scope)
                if i[dashboard.LEAN_STAGE] == query.stage]
        stmt = stmt.where(Case.id.in_(sorted({i[dashboard.LEAN_CASE] for i in lean})))
        if query.light in LIGHTS:
            stmt = stmt.where(Case.id.in_(sorted(
                c for c, light in dashboard.worst_lights(lean).items()
                if light == query.light)))
    elif query.light in LIGHTS:
        # A running case without an open item has nothing late: green.
        stmt = stmt.where(dashboard.case_light_filter(query.light))
    return stmt


def visible_cases(user: User, *, page: int = 1, per_page: int = 25,
                  status: str | None = None,
                  query: CaseQuery | None = None) -> tuple[list[Case], int]:
    """Cases the user may read (the same rule as ``access.can_see_case``), filtered, newest
    first, with the true total."""
    groups = user.group_codes
    # Only the user's counties' cases (the prefecture: every county's).
    scope = tenancy.county_scope(user)
    stmt = select(Case).where(scope.case_condition())
    if access.ENTERPRISE in groups and not (groups & access.STAFF_READERS):
        stmt = stmt.where(Case.enterprise_id == (user.enterprise_id or -1))
    elif groups & (access.STAFF_READERS - access.AREA_BOUND):
        pass
    elif groups & access.AREA_BOUND:
        if user.area:
            stmt = stmt.where(or_(Case.area == user.area, Case.area == ""))
    else:
        mine = select(WorkItem.case_id).where(or_(
            WorkItem.completed_by == user.username, WorkItem.claimed_by == user.username,
            WorkItem.id.in_(select(WorkItemGroup.work_item_id).where(
                WorkItemGroup.group_code.in_(sorted(groups))))))
        stmt = stmt.where(Case.id.in_(mine))
    query = query or CaseQuery()
    if status:
        query.status = status
    stmt = _filtered(stmt, query, scope)
    # The page and the true total in one pass over the filtered cases (a search or a light
    # filter is the expensive part; a count beside the page query did it twice).
    found = db.session.execute(stmt.with_only_columns(Case.id, func.count().over())
                               .order_by(Case.started_at.desc(), Case.id)
                               .limit(per_page).offset((max(1, page) - 1) * per_page)).all()
    ids = [row[0] for row in found]
    if found:
        total = found[0][1]
    elif page <= 1:
        total = 0
    else:  # past the last page: count on their own
        total = db.session.execute(stmt.with_only_columns(func.count(Case.id))).scalar_one()
    loaded = {c.id: c for c in db.session.execute(
        select(Case).where(Case.id.in_(ids))).scalars()} if ids else {}
    return [loaded[i] for i in ids if i in loaded], int(total)


def case_summary(case: Case) -> dict[str, Any]:
    try:
        summary: dict[str, Any] = json.loads(case.summary or "{}")
    except ValueError:
        summary = {}
    return summary


def task_context(item: WorkItem) -> dict[str, Any]:
    """What the task page says about a task beyond the case summary stored with its row.

    A task inside one instance of a multi-instance call (a department's task sheet, review
    or handling) belongs to one approval item; which one lives only in the task's own data,
    so it is read from the live workflow while the task is open. Without it an agent with
    several sheets of the same name cannot tell them apart.
    """
    context: dict[str, Any] = json.loads(item.context or "{}")
    if "item" in context or item.state != "ready" or item.case.status != "running":
        return context

    store = case_store()
    with store.reading(item.case) as runtime:
        for human in store.engine.ready_human_tasks(runtime):
            if human.id == item.id and isinstance(human.data.get("item"), dict):
                context["item"] = dict(human.data["item"])
                break
    return context


def case_light(items: list[WorkItem], now: datetime | None = None) -> str:
    now = now or clock.now()
    lights = [item_light(i.due_at, now, calendar()) for i in items
              if i.state == "ready" and i.due_at is not None]
    return max(lights, default=Light.GREEN).code


@dataclass
class Diagram:
    xml: str | None
    done: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)


def diagram_for(case: Case, items: list[WorkItem], history: list[AuditEvent]) -> Diagram:
    """The case's process diagram with done / active / overdue element ids."""
    deployment = db.session.get(Deployment, case.deployment_id)
    xml = None
    if deployment is not None:
        marker = f'id="{case.process_id}"'
        for f in deployment.files:
            if f.kind == "bpmn" and marker in f.content:
                xml = f.content
                break
    now = clock.now()
    # Tasks of a called process (a department's item) are drawn on the call activity that
    # runs them: the case page shows only the main diagram.
    outer = _called_elements(deployment, xml) if deployment is not None and xml else {}

    def top(element_id: str) -> str:
        return outer.get(element_id, element_id)

    done = {top(i.element_id) for i in items if i.state == "completed"}
    done |= {top(e.element_id) for e in history if e.type == "task_completed" and e.element_id}
    active = sorted({top(i.element_id) for i in items if i.state == "ready"})
    overdue = sorted({top(i.element_id) for i in items
                      if i.state == "ready" and i.due_at is not None and i.due_at < now})
    return Diagram(xml, sorted(done - set(active)), active, overdue)


_CALLED: dict[int, dict[str, str]] = {}  # by the hash of the deployment's BPMN texts
BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _called_elements(deployment: Deployment, main_xml: str) -> dict[str, str]:
    """Element id of a called process → the main diagram's call activity that calls it.

    A deployment never changes, so the answer is kept per deployment's content (ids alone
    repeat across databases, e.g. two apps in one process).
    """
    key = hash(tuple(f.content for f in deployment.files if f.kind == "bpmn"))
    if key in _CALLED:
        return _CALLED[key]

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    main = etree.fromstring(main_xml.encode(), parser)
    in_main = {str(el.get("id")) for el in main.iter() if el.get("id")}
    calls = {str(c.get("calledElement")): str(c.get("id"))
             for c in main.iter(f"{BPMN_NS}callActivity")}
    mapping: dict[str, str] = {}
    for f in deployment.files:
        if f.kind != "bpmn":
            continue
        for proc in etree.fromstring(f.content.encode(), parser).iter(f"{BPMN_NS}process"):
            call = calls.get(str(proc.get("id")))
            if call is None:
                continue
            for el in proc.iter():
                element_id = el.get("id")
                if element_id and element_id not in in_main:
                    mapping[str(element_id)] = call
    _CALLED[key] = mapping
    return mapping


@dataclass
class Node:
    """One step of a case as the enterprise and the supervisors follow it (节点查询)."""

    name: str
    stage: str
    state: str
    groups: list[str]
    started_at: datetime
    due_at: datetime | None
    finished_at: datetime | None
    who: str | None
    row: Row


def progress(case: Case, items: list[WorkItem]) -> list[Node]:
    now = clock.now()
    nodes = []
    for item in sorted(items, key=lambda i: i.created_at):
        nodes.append(Node(task_title(item), item.stage, item.state,
                          item.group_codes, item.created_at, item.due_at, item.completed_at,
                          item.completed_by or item.claimed_by, row_for(item, now)))
    return nodes


def decisions(case: Case) -> list[AuditEvent]:
    """Completed tasks of the case, oldest first (the earlier decisions a task page shows)."""
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id,
                                 AuditEvent.type == "task_completed")
        .order_by(AuditEvent.case_seq)).scalars())


@dataclass
class Submission:
    """One completed task of a form: its row, the data submitted, the approval item it served."""

    item: WorkItem
    data: dict[str, Any]
    approval_item: dict[str, Any]


def submissions(case: Case, form_key: str) -> list[Submission]:
    """Every completed task of ``form_key`` in the case with its data, in submission order.

    A department's form is submitted once per approval item; the item (code, name,
    department) is the one its row was opened for. Order follows the audit trail, which is
    strict even when several tasks complete within the same second.
    """
    items = {i.id: i for i in db.session.execute(
        select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.form_key == form_key,
                               WorkItem.state == "completed")
        .order_by(WorkItem.completed_at, WorkItem.id)).scalars()}
    if not items:
        return []
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id,
                                 AuditEvent.type == "task_completed",
                                 AuditEvent.task_id.in_(list(items)))
        .order_by(AuditEvent.case_seq)).scalars()
    data: dict[str, dict[str, Any]] = {}
    for event in events:  # the last completion of a task wins, at its place in the order
        data.pop(str(event.task_id), None)
        data[str(event.task_id)] = dict((event.payload or {}).get("new") or {})
    # A task whose completion the trail lacks would still print, after the others.
    ordered = [items[i] for i in data] + [i for i in items.values() if i.id not in data]
    return [Submission(i, data.get(i.id, {}), _approval_item(i)) for i in ordered]


def _approval_item(item: WorkItem) -> dict[str, Any]:
    try:
        found = json.loads(item.context or "{}").get("item")
    except (ValueError, AttributeError):
        return {}
    return found if isinstance(found, dict) else {}


def task_title(item: WorkItem) -> str:
    """部门办理审批事项 · 建筑工程施工许可证核发: a task named with the approval item it serves."""
    name = item.name or item.element_id
    item_name = str(_approval_item(item).get("name") or "")
    return f"{name} · {item_name}" if item_name and item_name not in name else name


def display_names(usernames: list[str]) -> dict[str, str]:
    """username → display name, for the users that exist."""
    if not usernames:
        return {}
    return {u: n for u, n in db.session.execute(
        select(User.username, User.display_name).where(User.username.in_(usernames)))}


def completed_form_keys(case: Case) -> list[str]:
    return sorted({k for k in db.session.execute(
        select(WorkItem.form_key).where(WorkItem.case_id == case.id,
                                        WorkItem.state == "completed")).scalars() if k})


def form_keys_of(items: list[WorkItem]) -> dict[str, str]:
    """task id → form key, to label the values of earlier decisions."""
    return {i.id: i.form_key for i in items}


def group_names() -> dict[str, tuple[str, str]]:

    return {g.code: (g.name, g.name_en) for g in db.session.execute(select(Group)).scalars()}


def departments() -> list[tuple[str, str, str]]:

    return [(g.code, g.name, g.name_en) for g in db.session.execute(
        select(Group).where(Group.kind == "department").order_by(Group.code)).scalars()]
