"""The case list's search box and filters: each key finds its case; true counts and pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from tests.helpers.dashboard import at, county
from tests.web.dashboard_seed import SeedCase, SeedItem, seed_cases, shipped_app

TOTAL = re.compile(r'<b id="total">(\d+)</b>')


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def listed(user: Any, query: dict[str, str]) -> tuple[int, str]:
    page = user.text("/cases", query_string=query)
    found = TOTAL.search(page)
    assert found, page[:400]
    return int(found.group(1)), page


@pytest.mark.parametrize("key", ["风电基地", "绿能新能源", "91530100MA6KXYZ12Q",
                                 "2611-530100-04-01-123456", "GJ-2026-0001", "gj-2026-0001",
                                 "MA6KXYZ"])
def test_one_box_finds_a_case_by_each_of_its_keys(
        app: Flask, web: Any, frozen_clock: FrozenClock, key: str) -> None:
    county(app)
    staff = web()
    staff.login("zhaoshang")
    total, page = listed(staff, {"q": key})
    assert total == 1 and "风电基地项目" in page and "文旅小镇项目" not in page


def test_search_wildcards_are_taken_literally(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    county(app)
    staff = web()
    staff.login("zhaoshang")
    assert listed(staff, {"q": "%"})[0] == 0
    assert listed(staff, {"q": "_"})[0] == 0


def test_search_finds_names_json_escapes_and_not_the_summarys_field_names(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    # The summary is stored as JSON: a quote or backslash in a name is escaped there, and
    # the field names are in the text too; the box looks in the fields' values only.
    seed_cases(app, [SeedCase("引号项目", '"滇中"\\新材料有限公司', "energy", at(11, 2)),
                     SeedCase("平常项目", "平常有限公司", "energy", at(11, 3))])
    staff = web()
    staff.login("zhaoshang")
    total, page = listed(staff, {"q": '"滇中"\\新材料'})
    assert total == 1 and "引号项目" in page
    assert listed(staff, {"q": "enterprise_name"})[0] == 0
    assert listed(staff, {"q": "平常有限"})[0] == 1


def test_filters_count_truly_and_combine(app: Flask, web: Any,
                                         frozen_clock: FrozenClock) -> None:
    county(app)
    leader = web()
    leader.login("lingdao")
    assert listed(leader, {})[0] == 6
    assert listed(leader, {"status": "running"})[0] == 3
    assert listed(leader, {"status": "running", "light": "red"})[0] == 2
    assert listed(leader, {"status": "running", "light": "green"})[0] == 1
    assert listed(leader, {"department": "dept_zjj"})[0] == 1
    assert listed(leader, {"department": "dept_zrzy"})[0] == 2
    assert listed(leader, {"stage": "施工许可"})[0] == 1
    assert listed(leader, {"area": "城关镇"})[0] == 1
    assert listed(leader, {"started_from": "2026-11-01", "started_to": "2026-12-01"})[0] == 3
    assert listed(leader, {"status": "completed", "ended_from": "2026-11-01",
                           "ended_to": "2026-12-01"})[0] == 1
    total, page = listed(leader, {"q": "项目", "light": "red", "status": "running"})
    assert total == 2 and "风电基地项目" in page and "文旅小镇项目" in page


def test_paging_keeps_the_filters_and_the_true_total(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    seed_cases(app, [SeedCase(f"批量项目{n:02d}", "批量公司", "energy",
                              at(11, 2) + timedelta(minutes=n), area="城关镇",
                              items=[SeedItem("construction_permit", "dept_zjj", at(12, 20))])
                     for n in range(30)])
    leader = web()
    leader.login("lingdao")
    total, first = listed(leader, {"area": "城关镇", "light": "green"})
    assert total == 30 and first.count("批量项目") == 25
    nxt = re.search(r'href="([^"]*page=2[^"]*)"', first)
    assert nxt and "area=" in nxt.group(1) and "light=green" in nxt.group(1)
    second = leader.text(nxt.group(1).replace("&amp;", "&"))
    assert second.count("批量项目") == 5 and "批量项目00" in second
    # Past the last page the total is still the true one.
    assert listed(leader, {"area": "城关镇", "light": "green", "page": "3"})[0] == 30


@pytest.mark.parametrize("key, found", [("文旅小镇", 2), ("山水文旅", 2), ("风电基地", 0),
                                        ("GJ-D-0001", 2), ("不存在的项目", 0)])
def test_the_task_list_finds_tasks_by_their_case(
        app: Flask, web: Any, frozen_clock: FrozenClock, key: str, found: int) -> None:
    county(app)
    agent = web()
    agent.login("zjj")
    assert "文旅小镇项目" in agent.text("/tasks")
    page = agent.text("/tasks", query_string={"q": key})
    count = re.search(r'id="task-count">[^<]*<b>(\d+)</b>', page)
    assert count and int(count.group(1)) == found
    assert ("文旅小镇项目" in page) == bool(found)
