"""The case list and its search: the cases a user may see, filtered and paged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import JSON, Select, and_, cast, func, or_, select, type_coerce

from server.extensions import db
from server.models import (
    Case,
    CaseProject,
    Handup,
    User,
    WorkItem,
)
from server.services import access, dashboard, records, tenancy
from server.services.calendar import current_calendar

# The one query of "tasks this user may work on"; shared so the list and the API agree.


LIGHTS = ("red", "yellow", "green")


def stages() -> list[str]:
    """The task list's stage filter: the process's stages in their order (申请受理 … 归档,
    ``records.STAGES``). Not read from the open items: that read every county's ready items
    of a prefecture (165 ms of a task list's 364 ms among 48,000 open items,
    bench/prefecture.py) and offered the stages of other counties' tasks."""
    return list(records.STAGES)


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
    county: str = ""  # one county of the user's ("": all of them)


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
    cal = current_calendar()
    return datetime.combine(day, time(0), cal.tz).astimezone(UTC)


def text_search(stmt: Select[Any], text: str) -> Select[Any]:
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
        stmt = text_search(stmt, query.q)
    if query.area:
        stmt = stmt.where(Case.area == query.area)
    if query.department:
        stmt = stmt.where(Case.id.in_(select(WorkItem.case_id).where(
            WorkItem.element_is(dashboard.HANDLING_ELEMENT),
            WorkItem.offered_to_any([query.department]))))
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
    query = query or CaseQuery()
    # Only the user's counties' cases (the prefecture: every county's, or the one it asks
    # for; another county's code is not found).
    scope = tenancy.county_view(user, query.county)
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
            WorkItem.offered_to_any(groups)))
        # A prefecture department: the cases whose items were handed up to it (issue 21).
        handed = select(Handup.case_id).where(Handup.prefecture_group.in_(sorted(groups)))
        stmt = stmt.where(or_(Case.id.in_(mine), Case.id.in_(handed)))
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
