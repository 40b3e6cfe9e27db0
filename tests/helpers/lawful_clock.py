"""Catalog items and the steps that bring a case to 受理 (lawful-clock scenarios)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import User
from tests.scenarios.conftest import Walker


def item(**over: Any) -> dict[str, Any]:
    return {"code": "env_impact_form", "name": "环境影响报告表审批", "department": "dept_sthj",
            "promised_days": 20, "limit_kind": "working", "level": "county", **over}


def to_handling(walker: Walker, **over: Any) -> dict[str, Any]:
    """Start a one-item case and walk it to the department's 办理 task (Monday 2026-11-23).

    The item's catalog entry is given the limit and kind under test (in this tree the catalog
    does not carry ``limit_kind`` yet; the case item dict does, per the contract with room 11).
    """
    expand = walker.app.extensions["guanjia.prepare_case_data"]

    def prepare(data: dict[str, Any]) -> dict[str, Any]:
        out = expand(data)
        return {**out, "items": [{**i, **item(**over)} for i in out["items"]]}

    walker.app.extensions["guanjia.prepare_case_data"] = prepare
    walker.start(item_codes=["env_impact_form"])
    walker.accept()
    walker.hand_over()
    walker.do("sthj", "take_task_sheet")
    walker.do("sthj", "review_item_materials", acceptance_mode="accepted")
    [handling] = walker.ready("handle_item")
    return handling


def act(walker: Walker, fn: Any, username: str, task_id: str, **kw: Any) -> Any:
    def go() -> Any:
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        return fn(user, task_id, **kw)
    return walker.run(go)
