"""Walk a case of the fixture process through the API, snapshotting what people saw each step."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import Case
from server.services import replay
from tests.conftest import PASSWORD, Api

# (department group, user) pairs seeded by tests/conftest.py
DEPARTMENTS = [("dept_fgj", "fgj"), ("dept_zrzy", "zrzy"), ("dept_zjj", "zjj"),
               ("dept_sthj", "sthj"), ("dept_scjg", "scjg"), ("dept_sw", "shuiwu")]
TOP_LEVEL_KEYS = ("project_name", "investment_wan", "approved", "review_note", "closing_note")


def sign_in(client: Any, username: str) -> None:
    """Sign ``client`` in on the login page, as a person would."""
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    data = {"username": username, "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post("/login", data=data)
    assert response.status_code in (302, 303), response.status_code


def ensure_audit_pages(app: Flask) -> None:
    """Register the audit blueprint when the web package does not (yet) do it (the shared
    fixtures empty every table but the seeded ones, checkpoints included, before each test)."""
    from server.web.audit import register_audit

    if "audit" not in app.blueprints:
        register_audit(app)


def items(n: int) -> list[dict[str, Any]]:
    return [{"code": f"item_{k:02d}", "name": f"事项{k}", "department": DEPARTMENTS[k % 6][0],
             "promised_days": 3 + k % 5} for k in range(n)]


@dataclass
class Snapshot:
    """What the system showed right after one action."""

    last_case_seq: int
    actor: str
    ready: set[str]
    data: dict[str, Any]


@dataclass
class Walk:
    case_id: str
    snapshots: list[Snapshot] = field(default_factory=list)


def _snapshot(api: Api, case_id: str, actor: str) -> Snapshot:
    shown = api.get(f"/cases/{case_id}", "zhaoshang").json
    with api.app.app_context():
        ready = set(db.session.execute(sa.text(
            "SELECT id FROM work_items WHERE case_id = :c AND state = 'ready'"),
            {"c": case_id}).scalars())
        db.session.remove()
    return Snapshot(shown["history"][-1]["case_seq"], actor, ready, shown["data"])


def _complete(api: Api, clock: FrozenClock, walk: Walk, user: str, element: str,
              data: dict[str, Any]) -> None:
    clock.advance(timedelta(minutes=4))
    task = next(t for t in api.tasks(user, case_id=walk.case_id) if t["element_id"] == element)
    done = api.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
    assert done.status_code == 200, done.json
    walk.snapshots.append(_snapshot(api, walk.case_id, user))


def walk_case(api: Api, clock: FrozenClock, n_items: int = 3, *, approved: bool = True,
              finish: bool = True) -> Walk:
    """Start a case with ``n_items`` items and complete every task, one hour apart."""
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "items": items(n_items)}})
    assert response.status_code == 201, response.json
    case_id = response.json["id"]
    walk = Walk(case_id, [_snapshot(api, case_id, "qiye")])

    _complete(api, clock, walk, "zhaoshang", "review",
              {"approved": approved, "review_note": "符合条件"})
    if approved and finish:
        finish_walk(api, clock, walk, n_items)
    return walk


def finish_walk(api: Api, clock: FrozenClock, walk: Walk, n_items: int) -> None:
    """Complete every task of a case ``walk_case`` left after the review, one hour apart."""
    case_id = walk.case_id

    # Sheets first, then the work, then the results; a sheet left over 30 minutes raises an
    # urging task for the steward (the boundary timer fires on the next step of the case).
    users = list(dict.fromkeys(DEPARTMENTS[k % 6][1] for k in range(n_items)))
    for element, data in (("take_sheet", None), ("urge_department", {"urge_note": "请尽快"}),
                          ("handle_item", {"outcome": "approved"}), ("report_result", {}),
                          ("urge_department", {"urge_note": "请尽快"})):
        for user in (["guanjia"] if element == "urge_department" else users):
            while any(t["element_id"] == element for t in api.tasks(user, case_id=case_id)):
                _complete(api, clock, walk, user, element,
                          data if data is not None else {"receiver": user})
    _complete(api, clock, walk, "zhuanchuang", "close_case", {"closing_note": "办结"})


def replay_of(app: Flask, case_id: str) -> replay.Replay:
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        found = replay.replay_case(case)
        db.session.remove()
        return found


def assert_replay_matches(app: Flask, walk: Walk) -> replay.Replay:
    """The replay, step by step, shows at each snapshot what people saw then."""
    found = replay_of(app, walk.case_id)
    by_seq = {s.event["case_seq"]: s for s in found.steps}
    assert [s.event["case_seq"] for s in found.steps] == list(range(1, len(found.steps) + 1))
    for snap in walk.snapshots:
        step = by_seq[snap.last_case_seq]
        assert {t["task_id"] for t in step.active_tasks} == snap.ready, snap.last_case_seq
        for key in TOP_LEVEL_KEYS:
            if key in snap.data:
                assert step.data[key] == snap.data[key], (snap.last_case_seq, key)
        # The step that ends an action was written by that action or by the engine after it.
        actors = {s.event["actor"] for s in found.steps
                  if s.event["case_seq"] <= snap.last_case_seq} - {None}
        assert snap.actor in actors
    return found
