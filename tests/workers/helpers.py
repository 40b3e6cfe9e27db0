"""Starting cases and reading what the workers did, shared by the worker tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.conftest import Api

ITEMS = [
    {"code": "project_filing", "name": "企业投资项目备案", "department": "dept_fgj",
     "promised_days": 3},
    {"code": "land_planning", "name": "建设用地规划许可证", "department": "dept_zrzy",
     "promised_days": 5},
]


def start_case(api: Api, process_id: str = "parallel_case", **data: Any) -> str:
    response = api.post("/cases", "qiye", json={"process_id": process_id, "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "items": ITEMS, **data}})
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def approve_review(api: Api, case_id: str) -> None:
    """Accept the case: the department task sheets open, each with its 30-minute timer."""
    review = [t for t in api.tasks("zhaoshang") if t["case_id"] == case_id
              and t["element_id"] == "review"]
    assert len(review) == 1, review
    done = api.post(f"/tasks/{review[0]['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}})
    assert done.status_code == 200, done.json


def query(app: Flask, sql: str, **params: Any) -> list[Any]:
    from server.extensions import db

    with app.app_context():
        rows = list(db.session.execute(sa.text(sql), params).all())
        db.session.remove()
        return rows


def fired_events(app: Flask) -> list[tuple[str, str, str]]:
    """(case id, timer task id, element id) of every ``timer_fired`` audit event."""
    return [(r[0], r[1], r[2]) for r in query(
        app, "SELECT case_id, task_id, element_id FROM audit_events "
             "WHERE type = 'timer_fired' ORDER BY seq")]


def open_items(app: Flask, element_id: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in query(
        app, "SELECT case_id, id FROM work_items WHERE element_id = :e AND state = 'ready'",
        e=element_id)]
