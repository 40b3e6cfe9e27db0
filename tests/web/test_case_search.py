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


#: The case list's filters a county's user counts with (issue 21).
COUNTED = [{}, {"status": "running", "light": "red"}, {"light": "yellow"}, {"light": "green"},
           {"department": "dept_zjj"}, {"department": "dept_zrzy"},
           {"stage": "施工许可", "light": "green"}, {"q": "项目", "light": "red"}]


def test_a_county_counts_its_own_cases_as_if_it_were_alone(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    """Issue 21: with another county's copy of the same cases beside them, a county's leader
    sees the very figures (case list filters, dashboard, department rates) the county showed
    alone, and a prefecture leader sees both counties' (twice as many)."""
    from sqlalchemy import select, update

    from server.extensions import db
    from server.models import Case, User
    from server.services.dashboard import overview
    from tests.helpers.tenancy import B, make_counties, move_cases

    make_counties(app)
    county(app)
    with app.app_context():  # the copy below takes the fixed case number
        db.session.execute(update(Case).where(Case.reference == "GJ-2026-0001")
                           .values(reference="GJ-2026-0101"))
        db.session.commit()
    leader, prefecture = web(), web()
    leader.login("lingdao")
    prefecture.login("zhou")

    def figures() -> tuple[dict[str, int], Any]:
        totals = {str(query): listed(leader, query)[0] for query in COUNTED}
        with app.app_context():
            user = db.session.execute(select(User).where(User.username == "lingdao")).scalar_one()
            return totals, overview(user)

    alone, board = figures()
    assert alone[str({"status": "running", "light": "red"})] == 2
    assert alone[str({"department": "dept_zrzy"})] == 2
    assert board.items_total == 4 and board.rates
    other = county(app)
    with app.app_context():
        move_cases(other, B)
        db.session.commit()
    assert figures() == (alone, board)
    assert {str(query): listed(prefecture, query)[0] for query in COUNTED} == {
        key: 2 * n for key, n in alone.items()}
