"""The case timeline (甘特图): plan against actual per approval item, with today's line.

Laid out here, drawn as server-side SVG by ``templates/cases/_gantt.html`` (it prints). The
plan bar runs over the item's planned dates (``plan_timetable``, the service plan's 倒排工期);
the actual bar from the day its task sheet went out to the day it was done (or today). An item
is late when it finished after its planned end, or is still open after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from server.services.item_progress import ItemProgress

LABEL_WIDTH = 230
CHART_WIDTH = 640
ROW_HEIGHT = 24
TOP = 28


@dataclass
class Bar:
    x: float
    width: float


@dataclass
class GanttRow:
    code: str
    name: str
    state: str
    y: int
    plan: Bar | None
    actual: Bar | None
    late: bool
    planned_end: date | None
    light: str | None


@dataclass
class Gantt:
    rows: list[GanttRow]
    width: int
    height: int
    today_x: float
    ticks: list[tuple[float, str]]
    late_count: int


def _bar(start: date, end: date, first: date, per_day: float) -> Bar:
    x = LABEL_WIDTH + (start - first).days * per_day
    return Bar(x, max((end - start).days + 1, 1) * per_day)


def build_gantt(progress: list[ItemProgress], plan_rows: list[dict[str, Any]], today: date,
                local_date: Any) -> Gantt | None:
    """The chart of ``progress`` against ``plan_rows``; None when there is nothing to draw.

    ``local_date`` turns an instant into the county's date.
    """
    if not progress:
        return None
    planned = {str(r.get("code")): (date.fromisoformat(str(r["planned_start"])),
                                    date.fromisoformat(str(r["planned_end"])))
               for r in plan_rows if r.get("planned_start") and r.get("planned_end")}

    def day(moment: datetime | None) -> date | None:
        return local_date(moment) if moment is not None else None

    spans: dict[str, tuple[date, date] | None] = {}
    for p in progress:
        begin = day(p.called_at)
        spans[p.code] = (begin, day(p.finished_at) or today) if begin else None
    days = [today] + [d for s in planned.values() for d in s] + [
        d for s in spans.values() if s for d in s]
    first, last = min(days), max(days)
    per_day = CHART_WIDTH / ((last - first).days + 1)
    rows = []
    for n, p in enumerate(progress):
        plan = planned.get(p.code)
        actual = spans[p.code]
        finished = day(p.finished_at)
        late = plan is not None and ((finished is not None and finished > plan[1])
                                     or (finished is None and today > plan[1]))
        rows.append(GanttRow(p.code, p.name, p.state, TOP + n * ROW_HEIGHT,
                             _bar(*plan, first, per_day) if plan else None,
                             _bar(*actual, first, per_day) if actual else None,
                             late, plan[1] if plan else None, p.light))
    step = max(1, ((last - first).days + 1) // 8)
    ticks = [(LABEL_WIDTH + k * per_day, (first + timedelta(days=k)).strftime("%m-%d"))
             for k in range(0, (last - first).days + 1, step)]
    return Gantt(rows, LABEL_WIDTH + CHART_WIDTH + 10, TOP + len(rows) * ROW_HEIGHT + 10,
                 LABEL_WIDTH + (today - first).days * per_day + per_day / 2, ticks,
                 sum(r.late for r in rows))
