"""The API's task list and the task-list page are one query with one pagination (issue 20):
the same tasks, in the same order, with the same total and the same page cap."""

from __future__ import annotations

from typing import Any

from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import Api
from tests.helpers.tasklist import rows, total
from tests.web.helpers import Web, open_items


def test_api_and_page_list_the_same_tasks_up_to_the_same_cap(
        app: Flask, api: Api, web: Any, frozen_clock: FrozenClock) -> None:
    open_items(app, 210, "dept_fgj")
    open_items(app, 3, "dept_zrzy")
    w: Web = web()
    w.login("fgj")
    html = w.text("/tasks?scope=groups&department=dept_fgj&per_page=500")
    listed = api.get("/tasks", "fgj", query_string={
        "scope": "groups", "department": "dept_fgj", "per_page": 200}).json
    assert total(html) == listed["total"] == 210
    # 200 a page at most, on either side, in the same order (due date, then created, id).
    assert [r for r, _ in rows(html)] == [t["id"] for t in listed["items"]]
    assert len(listed["items"]) == 200
    rest = api.get("/tasks", "fgj", query_string={
        "scope": "groups", "department": "dept_fgj", "per_page": 200, "page": 2}).json
    assert len(rest["items"]) == 10 and rest["total"] == 210
    # Another department's filter finds none of fgj's tasks, on either side.
    assert total(w.text("/tasks?department=dept_zrzy")) == 0
    assert api.get("/tasks", "fgj", query_string={"department": "dept_zrzy"}).json["total"] == 0
