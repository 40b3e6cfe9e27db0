"""Where each approval item of a case stands: waiting for prerequisites, called, in hand, done.

A read model for the case page, the portal and the timetable. An item waiting for its
prerequisites has no work item, no deadline and no light (待前置事项); once its task sheet
goes out its rows tell when it was called, its handling deadline and light, and when the window
told the enterprise the result (办结).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.engine import clock
from server.models import Case, WorkItem
from server.rules.lights import item_light
from server.services.calendar import current_calendar
from server.services.case_state import live_data
from server.services.catalog import catalog_for_case
from server.services.staging import FINISHING_ELEMENT, waiting_items
from server.services.store import case_store

STATE_NAMES = {
    "pending": ("待交办", "Not yet handed over"),
    "waiting": ("待前置事项", "Waiting for prerequisites"),
    "called": ("已推送任务单", "Task sheet sent"),
    "working": ("办理中", "In hand"),
    "done": ("已办结", "Done"),
    "dropped": ("已从方案撤销", "Dropped from the plan"),
}


@dataclass
class ItemProgress:
    """One approval item of a case as its pages show it."""

    code: str
    name: str
    department: str
    stage: str
    level: str
    limit_kind: str
    promised_days: int
    state: str
    statutory_days: int | None = None
    legal_basis: str = ""
    open_prerequisites: list[str] = field(default_factory=list)  # item names
    called_at: datetime | None = None
    accepted_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    light: str | None = None

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state][0]


def _item_code(row: WorkItem) -> str | None:
    item = json.loads(row.context or "{}").get("item")
    return str(item.get("code")) if isinstance(item, dict) and item.get("code") else None


def case_items(case: Case) -> list[dict[str, Any]]:
    """The ``items`` the case runs over (as the application or the plan set them)."""
    items = live_data(case).get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def item_progress(case: Case, rows: list[WorkItem],
                  items: list[dict[str, Any]] | None = None,
                  dropped: set[str] | None = None) -> list[ItemProgress]:
    """Each item of ``case`` with its state, from the live workflow and its work items;
    ``dropped``: codes the plan withdrew while they waited (from the audit trail)."""
    items = case_items(case) if items is None else items
    names = {str(i.get("code")): str(i.get("name") or i.get("code")) for i in items}
    waiting = {}
    if case.status == "running":
        with case_store().reading(case) as runtime:
            waiting = {w.code: w for w in waiting_items(runtime)}
    by_code: dict[str, list[WorkItem]] = {}
    for row in rows:
        code = _item_code(row)
        if code is not None:
            by_code.setdefault(code, []).append(row)
    now = clock.now()
    catalog = catalog_for_case(case)
    out = []
    for item in items:
        code = str(item.get("code"))
        known = catalog.get(code) if code in catalog else None
        progress = ItemProgress(
            code=code, name=str(item.get("name") or code),
            department=str(item.get("department") or ""),
            stage=str(item.get("stage") or (known.stage if known else "其他")),
            level=str(item.get("level") or "county"),
            limit_kind=str(item.get("limit_kind") or "working"),
            promised_days=int(item.get("promised_days") or 0), state="pending",
            statutory_days=item.get("statutory_days"),
            legal_basis=str(item.get("legal_basis") or (known.legal_basis if known else "")))
        mine = sorted(by_code.get(code, []), key=lambda r: r.created_at)
        if code in (dropped or set()) and code not in waiting and not mine:
            progress.state = "dropped"
        elif code in waiting:
            progress.state = "waiting"
            progress.open_prerequisites = [names.get(p, p) for p in waiting[code].open]
        elif mine:
            progress.called_at = mine[0].created_at
            finished = [r for r in mine if r.element_id == FINISHING_ELEMENT
                        and r.state == "completed"]
            handling = [r for r in mine if r.element_id == "handle_item"]
            if handling:
                progress.accepted_at = handling[0].created_at
            if finished:
                progress.state, progress.finished_at = "done", finished[-1].completed_at
            else:
                progress.state = "working" if handling else "called"
                open_handling = [r for r in handling if r.state == "ready" and r.due_at]
                due = open_handling[-1].due_at if open_handling else None
                if due is not None:
                    progress.due_at = due
                    progress.light = item_light(due, now, current_calendar()).code
        out.append(progress)
    return out
