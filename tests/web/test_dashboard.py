"""The leaders' dashboard: counts of approval items (not tasks) and projects by light,
department, stage and industry; every number equals the list it opens; who may see it."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import table_counts
from tests.helpers.dashboard import county
from tests.web.dashboard_seed import shipped_app

COUNT = re.compile(r'data-count="([^"]+)" href="([^"]+)">(.*?)</a>', re.S)
TOTAL = re.compile(r'<b id="total">(\d+)</b>')


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)






def counts(page: str) -> dict[str, tuple[str, int]]:
    found = {}
    for name, href, body in COUNT.findall(page):
        number = re.findall(r"\d+", re.sub(r"<[^>]+>", " ", body))
        found[name] = (html.unescape(href), int(number[-1]))
    return found


def test_dashboard_counts_items_and_projects_and_each_number_opens_its_list(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    county(app)
    leader = web()
    leader.login("lingdao")
    page = leader.text("/dashboard")
    found = counts(page)
    figures = {k: v[1] for k, v in found.items()}
    assert {k: figures[k] for k in ("items-total", "items-red", "items-yellow", "items-green")} \
        == {"items-total": 4, "items-red": 2, "items-yellow": 1, "items-green": 1}
    assert {k: figures[k] for k in ("projects-total", "projects-red", "projects-yellow",
                                     "projects-green")} \
        == {"projects-total": 3, "projects-red": 2, "projects-yellow": 0, "projects-green": 1}
    assert {k: figures[k] for k in ("month-new", "month-completed", "month-terminated")} \
        == {"month-new": 3, "month-completed": 1, "month-terminated": 1}
    assert figures["dept-dept_zjj"] == 2 and figures["dept-red-dept_zjj"] == 1
    assert figures["dept-dept_zrzy"] == 1 and figures["dept-dept_sthj"] == 1
    # Stages and industries in words, never codes.
    assert figures["stage-工程建设许可"] == 2 and figures["stage-立项用地规划许可"] == 1
    assert figures["stage-施工许可"] == 1
    assert figures["industry-能源（含绿色能源）"] == 2 and figures["industry-文化旅游"] == 2
    # Trends by month: October started three (旧厂, 文旅, 康养) and finished one (旧厂);
    # November matches this month's figures; six months shown, June the oldest.
    assert [figures[f"trend-{k}-2026-10"] for k in ("new", "completed", "terminated")] \
        == [3, 1, 0]
    assert [figures[f"trend-{k}-2026-11"] for k in ("new", "completed", "terminated")] \
        == [3, 1, 1]
    assert figures["trend-new-2026-06"] == 0 and "trend-new-2026-05" not in figures
    assert "energy" not in re.sub(r'(data-count|href)="[^"]*"', "", page)
    # Every number is the true count of the list it opens.
    for name, (href, number) in found.items():
        listed = TOTAL.search(leader.text(href))
        assert listed and int(listed.group(1)) == number, (name, href, number)


def test_red_list_names_item_department_owner_and_working_days_overdue(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    ids = county(app)
    leader = web()
    leader.login("juzhang")
    page = leader.text("/dashboard")
    red = page[page.index('id="red-list"'):page.index("</table>", page.index('id="red-list"'))]
    rows = red.split("<tr>")[2:]
    assert len(rows) == 2
    # The longest overdue first: 用地预审 fell due Wed 18 Nov, three working days ago.
    assert "建设项目用地预审与选址意见书" in rows[0] and "自然资源局" in rows[0]
    assert "3个工作日" in rows[0] and f"/cases/{ids[0]}" in rows[0]
    assert "特殊建设工程消防设计审查" in rows[1] and "住建局" in rows[1]
    assert "1个工作日" in rows[1] and "未指定" in rows[1]
    # The rates: 住建局 finished one of one on time, 自然资源局 none of one.
    assert re.search(r"住建局</td><td[^>]*>1</td><td[^>]*>1</td>", page)
    assert re.search(r"自然资源局</td><td[^>]*>1</td><td[^>]*>0</td>", page)


@pytest.mark.parametrize("username", ["qiye", "zrzy", "fgj", "zhuanchuang"])
def test_enterprise_and_department_staff_get_403_and_nothing_changes(
        app: Flask, web: Any, frozen_clock: FrozenClock, username: str) -> None:
    county(app)
    before = table_counts(app)
    someone = web()
    someone.login(username)
    for path in ("/dashboard", "/dashboard/items?light=red"):
        assert someone.get(path).status_code == 403, path
    assert "/dashboard" not in someone.text("/inbox")
    assert table_counts(app) == before


def test_auditor_sees_the_dashboard_and_the_nav_links_it(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    county(app)
    auditor = web()
    auditor.login("shenji")
    assert 'href="/dashboard"' in auditor.text("/cases")
    assert counts(auditor.text("/dashboard"))["items-red"][1] == 2


def test_case_lights_agree_with_the_items_they_come_from(
        app: Flask, frozen_clock: FrozenClock) -> None:
    from server.services import dashboard

    ids = county(app)
    with app.app_context():
        lights = dashboard.case_lights()
        assert lights == dashboard.project_lights(dashboard.open_items())
        assert lights == {ids[0]: "red", ids[1]: "red"}
        assert dashboard.case_lights(case_ids=[ids[2]]) == {}  # nothing open: not listed


@pytest.mark.parametrize("username", ["zhaoshang", "juzhang"])
def test_bureau_staff_see_the_county_wide_figures_the_leader_sees(
        app: Flask, web: Any, frozen_clock: FrozenClock, username: str) -> None:
    county(app)
    leader, bureau = web(), web()
    leader.login("lingdao")
    bureau.login(username)
    theirs = counts(bureau.text("/dashboard"))
    # Not their own cases only: the whole county, every number as the leader has it.
    assert theirs == counts(leader.text("/dashboard"))
    assert theirs["items-total"][1] == 4 and theirs["projects-total"][1] == 3
    listed = TOTAL.search(bureau.text(theirs["items-red"][0]))
    assert listed and int(listed.group(1)) == 2
