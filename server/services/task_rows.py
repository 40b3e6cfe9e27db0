"""Task rows as lists show them: lights, working days left, the case and the item.

Reads only. Lights and working days left follow ``server.rules.lights`` with the default
calendar and the engine clock, so the task list, the case page and the portal agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import or_, select

from server.engine import clock
from server.models import (
    Case,
    User,
    WorkItem,
)
from server.rules.lights import WARN_WORKING_DAYS, Light, item_light, time_left
from server.rules.workdays import WorkCalendar
from server.services.calendar import case_county, current_calendar
from server.services.case_search import LIGHTS, text_search
from server.services.office_time import late_call_grace_ends
from server.services.store import case_store

# The one query of "tasks this user may work on"; shared so the list and the API agree.
from server.services.tasks import ORDERS, page_of, task_query

SORTS = ORDERS


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
    if query.light in LIGHTS:
        found_query = found_query.where(_light_condition(query.light, now))
    if query.q.strip():
        found_query = found_query.where(
            WorkItem.case_id.in_(text_search(select(Case.id), query.q)))
    found = page_of(found_query, query.page, query.per_page,
                    order_key=query.sort if query.sort in SORTS else "due")
    return RowPage([row_for(i, now) for i in found.items], found.total, found.page,
                   found.per_page)


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


def approval_item(item: WorkItem) -> dict[str, Any]:
    try:
        found = json.loads(item.context or "{}").get("item")
    except (ValueError, AttributeError):
        return {}
    return found if isinstance(found, dict) else {}


def task_title(item: WorkItem) -> str:
    """部门办理审批事项 · 建筑工程施工许可证核发: a task named with the approval item it serves."""
    name = item.name or item.element_id
    item_name = str(approval_item(item).get("name") or "")
    return f"{name} · {item_name}" if item_name and item_name not in name else name
