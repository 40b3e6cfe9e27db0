"""Two people finishing parallel tasks of one case at the same moment must both land."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tests.helpers.api_cases import only_task

DEPARTMENTS = ["dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj", "dept_scjg"]
USERS = {"dept_fgj": "fgj", "dept_zrzy": "zrzy", "dept_zjj": "zjj", "dept_sthj": "sthj",
         "dept_scjg": "scjg"}


@pytest.mark.real_commits  # ten client threads, each on a connection of its own
def test_ten_clients_complete_thirty_parallel_tasks_at_once(api: Api) -> None:
    items = [{"code": f"item{i}", "name": f"事项{i}", "department": DEPARTMENTS[i % 5],
              "promised_days": 3} for i in range(10)]
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "并发", "investment_wan": 9000, "items": items}})
    case_id = response.json["id"]
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    for user in USERS.values():
        api.token(user)  # sign in before the race so only completions run concurrently

    data_for = {"take_sheet": {"receiver": "x"}, "handle_item": {"outcome": "approved"},
                "report_result": {}}
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(user: str) -> None:
        client = api.app.test_client()
        headers = {"Authorization": f"Bearer {api.token(user)}"}
        while True:
            listed = client.get("/api/v1/tasks", headers=headers,
                                query_string={"per_page": 200}).json["items"]
            mine = [t for t in listed if t["case_id"] == case_id]
            if not mine:
                return
            for task in mine:
                r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                                json={"data": data_for[task["element_id"]]})
                with lock:
                    statuses.append(r.status_code)

    # Ten clients: two per department, racing on the same case.
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(worker, [u for u in USERS.values() for _ in range(2)]))

    assert all(s in (200, 409) for s in statuses), statuses  # 409: the other twin won
    assert statuses.count(200) == 30
    from server.extensions import db
    with api.app.app_context():
        completed = db.session.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE case_id = :c AND type = 'task_completed'"
        ), {"c": case_id}).scalar()
        closes = db.session.execute(sa.text(
            "SELECT count(*) FROM work_items WHERE case_id = :c AND element_id = 'close_case'"
        ), {"c": case_id}).scalar()
        db.session.remove()
    assert completed == 31  # the review and the thirty department tasks
    assert closes == 1  # the case moved on exactly once
    close = only_task(api, "zhuanchuang", "close_case")
    assert close["case_id"] == case_id
    shown: dict[str, Any] = api.get(f"/cases/{case_id}", "zhaoshang").json
    assert sorted(r["code"] for r in shown["data"]["items"]) == sorted(i["code"] for i in items)
