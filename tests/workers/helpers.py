"""Starting cases, moving the workers' clock and reading what the workers did, shared by the
worker tests (fixtures stay in conftest.py; test modules import helpers from here only)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.conftest import Api

WORKER_FIXTURES = Path(__file__).resolve().parent / "fixtures"
REDIS_URL = os.environ.get("GUANJIA_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_key(queue: str, key: str) -> str:
    """The Redis key ``key`` of the test whose queue is ``queue``: its workers prefix every
    key with the queue's name (kombu's ``global_keyprefix``, see ``redis_queue``)."""
    return f"{queue}:{key}"

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


def deploy_timer_paths(app: Flask) -> None:
    """Deploy ``timer_paths.bpmn`` (a 30-minute and a working-day timer path)."""
    from server.extensions import db
    from server.services import processes

    with app.app_context():
        path = WORKER_FIXTURES / "timer_paths.bpmn"
        processes.deploy({path.name: path.read_bytes()}, author="test")
        db.session.remove()


def write_now(path: Path, moment: datetime) -> None:
    """Move a worker's clock (see ``workers.clock.FileClock``)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.isoformat(), encoding="utf-8")
    os.replace(tmp, path)


def wait_for(check: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.2,
             what: str | Callable[[], str] = "condition") -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``timeout``
    (a callable ``what`` is called then, so a worker's output is read at the failure)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {said}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
