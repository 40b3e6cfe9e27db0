"""The per-case locks of a process: one per case in use, none left behind (issue 15), and a
page reading a live workflow waits for the step that holds it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.extensions import db
from server.models import Case
from server.services.store import case_store
from tests.conftest import Api


def start(api: Api, name: str) -> str:
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": name, "investment_wan": 100, "items": [
            {"code": "item0", "name": "事项0", "department": "dept_fgj", "promised_days": 3}]}})
    assert response.status_code == 201, response.json
    case_id: str = response.json["id"]
    return case_id


@pytest.mark.real_commits  # three threads completing steps, each on its own connection
def test_no_lock_outlives_the_steps_of_its_case(api: Api) -> None:
    cases = [start(api, f"锁{i}") for i in range(6)]
    api.token("zhaoshang")

    def review(case_id: str) -> int:
        client = api.app.test_client()
        headers = {"Authorization": f"Bearer {api.token('zhaoshang')}"}
        task = next(t for t in client.get("/api/v1/tasks", headers=headers,
                                          query_string={"case_id": case_id}).json["items"])
        return client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                           json={"data": {"approved": True}}).status_code

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(review, cases)) == [200] * 6
    with api.app.app_context():
        assert case_store().lock_count() == 0
    # A refused step lets go of its lock as well.
    again = api.post(f"/tasks/{_first_task(api, cases[0])}/complete", "fgj",
                     json={"data": {"receiver": "x"}})
    assert again.status_code == 200
    wrong = api.post(f"/tasks/{_first_task(api, cases[1])}/complete", "zrzy",
                     json={"data": {"receiver": "x"}})
    assert wrong.status_code == 403
    with api.app.app_context():
        assert case_store().lock_count() == 0


def _first_task(api: Api, case_id: str) -> str:
    listed = api.tasks("fgj", case_id=case_id)
    assert listed, case_id
    task_id: str = listed[0]["id"]
    return task_id


@pytest.mark.real_commits  # a step and a read in two threads, each on its own connection
def test_reading_a_live_workflow_waits_for_the_step_that_holds_it(api: Api) -> None:
    case_id = start(api, "读")
    app = api.app
    in_step, let_go, read_done = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def step() -> None:
        with app.app_context():
            with case_store().locked(case_id):
                in_step.set()
                let_go.wait(10)
                order.append("step ends")
            db.session.remove()

    def read() -> None:
        with app.app_context():
            case = db.session.get(Case, case_id)
            assert case is not None
            db.session.commit()
            in_step.wait(10)
            with case_store().reading(case):
                order.append("read")
            read_done.set()
            db.session.remove()

    threads = [threading.Thread(target=step), threading.Thread(target=read)]
    for t in threads:
        t.start()
    assert in_step.wait(10)
    assert not read_done.wait(0.3)  # the reader waits while the step holds the case
    with app.app_context():
        assert case_store().lock_count() == 1  # one lock, shared by holder and waiter
    let_go.set()
    for t in threads:
        t.join(10)
    assert order == ["step ends", "read"]
    with app.app_context():
        assert case_store().lock_count() == 0


def test_a_case_page_reads_under_the_lock_and_leaves_none(api: Api) -> None:
    case_id = start(api, "页")
    shown = api.get(f"/cases/{case_id}", "zhaoshang")
    assert shown.status_code == 200
    assert shown.json["data"]["project_name"] == "页"
    with api.app.app_context():
        assert case_store().lock_count() == 0
