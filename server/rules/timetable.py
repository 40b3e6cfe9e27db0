"""The service plan as a timetable (倒排工期): planned start and end per approval item.

Pure: the working-day test is passed in. Each item takes its promised limit, counted in its
kind (working or calendar days, the start day not counted), and cannot start before the items
it waits for (``waiting_for``) end. Without a target date the items are placed as early as
possible from the plan's start; with one (倒排) they are worked back from it — each item ends
when the first item waiting for it must start, the last ones on the target — and an item whose
latest start falls before the plan's start is marked ``tight`` (the target cannot be met
without 并联/容缺).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

IsWorkingDay = Callable[[date], bool]


@dataclass(frozen=True)
class PlannedItem:
    code: str
    name: str
    start: date
    end: date
    tight: bool = False

    def as_data(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "planned_start": self.start.isoformat(),
                "planned_end": self.end.isoformat(), "tight": self.tight}


def shift(day: date, n: int, kind: str, is_working_day: IsWorkingDay) -> date:
    """The day ``n`` days after ``day`` (``n`` < 0: before), counting working or calendar
    days; the start day is not counted."""
    if kind == "calendar":
        return day + timedelta(days=n)
    step = timedelta(days=1 if n >= 0 else -1)
    left = abs(n)
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def _order(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Codes so that every item comes after those it waits for (input order otherwise)."""
    codes = [str(i.get("code")) for i in items]
    after = {str(i.get("code")): [p for p in i.get("waiting_for") or [] if p in codes]
             for i in items}
    placed: list[str] = []
    while len(placed) < len(codes):
        ready = [c for c in codes if c not in placed and all(p in placed for p in after[c])]
        if not ready:  # a cycle cannot come from a valid catalog; keep the rest as given
            ready = [c for c in codes if c not in placed]
        placed.extend(ready)
    return placed


def plan_timetable(items: Sequence[Mapping[str, Any]], start: date, is_working_day: IsWorkingDay,
                   target: date | None = None) -> list[PlannedItem]:
    """Planned dates of ``items`` (case item dicts), in the items' order."""
    by_code = {str(i.get("code")): i for i in items}
    order = _order(items)
    waits = {c: [p for p in by_code[c].get("waiting_for") or [] if p in by_code] for c in order}

    def days(code: str) -> tuple[int, str]:
        item = by_code[code]
        return int(item.get("promised_days") or 0), str(item.get("limit_kind") or "working")

    planned: dict[str, tuple[date, date, bool]] = {}
    if target is None:
        for code in order:
            begin = max([start] + [planned[p][1] for p in waits[code]])
            n, kind = days(code)
            planned[code] = (begin, shift(begin, n, kind, is_working_day), False)
    else:
        for code in reversed(order):
            dependants = [d for d in order if code in waits[d]]
            end = min([target] + [planned[d][0] for d in dependants])
            n, kind = days(code)
            begin = shift(end, -n, kind, is_working_day)
            planned[code] = (begin, end, begin < start)
    return [PlannedItem(c, str(by_code[c].get("name") or c), *planned[c])
            for c in by_code]
