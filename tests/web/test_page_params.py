"""The pages' parameters go through marshmallow schemas and keep the pages' old manners:
a hand-edited link shows the default view (never a 500), a refused form changes nothing."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.datastructures import MultiDict

from server.engine.clock import FrozenClock
from server.schemas.pages import MAX_PAGE
from server.schemas.views import ItemClockForm, TaskListQuery
from server.web import params
from tests.conftest import Api
from tests.services.test_api_loop import only_task, start
from tests.web.helpers import Web, open_items

ROW = re.compile(r'<tr data-task="([^"]+)" class="light-(\w+)">')


def total(html: str) -> int:
    found = re.search(r'id="task-count">[^<]*<b>(\d+)</b>', html)
    assert found, html[:300]
    return int(found.group(1))


def test_a_task_list_link_is_read_with_its_defaults_and_tolerates_nonsense() -> None:
    wanted = params.load(TaskListQuery, MultiDict([
        ("page", "abc"), ("scope", "everyone"), ("due_before", "31/12/2026"),
        ("per_page", "0"), ("q", "  " + "项" * 150 + " "), ("csrf_token", "x")]))
    assert wanted["page"] == 1 and wanted["scope"] == "all"
    assert wanted["due_before"] is None and wanted["per_page"] == 1
    assert wanted["q"] == "项" * 100 and "csrf_token" not in wanted
    assert params.load(TaskListQuery, MultiDict([("page", "10000000000")]))["page"] == MAX_PAGE
    assert params.load(TaskListQuery, MultiDict([("due_before", "2026-12-31T08:00")])
                       )["due_before"].isoformat() == "2026-12-31"


def test_a_clock_pause_cap_is_a_whole_number_of_days_or_none() -> None:
    def cap(raw: str) -> Any:
        return params.load(ItemClockForm, MultiDict([("cap_days", raw)]))["cap_days"]

    assert [cap("5"), cap(" 5 "), cap("-3"), cap("1.5"), cap("")] == [5, 5, None, None, None]


def test_the_task_list_shows_its_default_view_for_a_hand_edited_link(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    open_items(app, 30, "dept_fgj")
    w: Web = web()
    w.login("fgj")
    plain = w.text("/tasks?scope=groups")
    odd = w.text("/tasks?scope=groups&page=zwei&due_before=tomorrow&per_page=x")
    assert total(odd) == total(plain) == 30
    assert ROW.findall(odd) == ROW.findall(plain)
    assert total(w.text("/tasks?scope=groups&page=99999999999999999999")) == 30


def test_the_next_page_link_keeps_the_filters_set(app: Flask, web: Any,
                                                  frozen_clock: FrozenClock) -> None:
    open_items(app, 30, "dept_fgj")
    w: Web = web()
    w.login("fgj")
    html = w.text("/tasks?scope=groups&stage=立项&per_page=10")
    links = re.findall(r'href="(/tasks\?[^"]*page=2[^"]*)"', html)
    assert links, html[:500]
    nxt = w.text(links[0].replace("&amp;", "&"))
    assert total(nxt) == 30 and len(ROW.findall(nxt)) == 10
    assert "stage=" in links[0] and "per_page=10" in links[0]


def test_claiming_never_sends_the_browser_to_another_site(
        web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    start(api)
    task_id = only_task(api, "zhaoshang", "review")["id"]
    w: Web = web()
    w.login("zhaoshang")
    for back in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        answer = w.post(f"/tasks/{task_id}/claim", {"back": back})
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/tasks/"), answer.headers["Location"]
        w.post(f"/tasks/{task_id}/release", {"back": back})
    answer = w.post(f"/tasks/{task_id}/claim", {"back": "/tasks?scope=mine"})
    assert answer.headers["Location"] == "/tasks?scope=mine"
    assert [r for r, _ in ROW.findall(w.text("/tasks?scope=mine"))] == [task_id]
