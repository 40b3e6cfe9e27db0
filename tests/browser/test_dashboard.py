"""A leader at the dashboard in Chromium: the numbers equal the lists they open, a red item
leads to its case, and the page fits a 390 px phone (no sideways scroll, tables as cards).
Screenshots: test-artifacts/screenshots/dashboard-{desktop,phone}.png and cases-phone.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from tests.helpers.browser import LiveServer, sign_in
from tests.helpers.browser_fit import fits
from tests.helpers.dashboard import county
from tests.scenarios.conftest import Walker
from tests.web.dashboard_seed import shipped_app


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def a_real_case_late(app: Flask, clock: FrozenClock) -> str:
    """A case of the shipped process whose two items are in hand, then a month passes."""
    walker = Walker(app, clock)
    case_id = walker.start(item_codes=["energy_review", "land_use_planning_permit"],
                           project_name="硅材料基地项目")
    walker.accept()
    walker.hand_over()
    agents = {"dept_fgj": "fgj", "dept_zrzy": "zrzy"}
    for sheet in walker.ready("take_task_sheet"):
        walker.do(agents[sheet["groups"]], "take_task_sheet", group=sheet["groups"])
    for review in walker.ready("review_item_materials"):
        walker.do(agents[review["groups"]], "review_item_materials", group=review["groups"])
    assert len(walker.ready("handle_item")) == 2
    walker.advance(days=30)
    return case_id


def figures(page: Any) -> dict[str, tuple[str, int]]:
    out = {}
    for link in page.locator("a[data-count]").all():
        number = re.findall(r"\d+", link.inner_text())
        out[str(link.get_attribute("data-count"))] = (str(link.get_attribute("href")),
                                                      int(number[-1]))
    return out




def test_leader_reads_the_dashboard_follows_its_numbers_and_a_red_item(
        app: Flask, live: LiveServer, page: Any, frozen_clock: FrozenClock,
        screenshots_dir: Path) -> None:
    case_id = a_real_case_late(app, frozen_clock)
    county(app)
    sign_in(page, live.url, "lingdao")
    page.goto(f"{live.url}/dashboard")
    found = figures(page)
    # Four seeded items and the real case's two are all past due a month later.
    assert found["items-total"][1] == 6 and found["items-red"][1] == 6
    assert found["projects-red"][1] == 3
    page.screenshot(path=str(screenshots_dir / "dashboard-desktop.png"), full_page=True)
    # The bundled Chart.js draws the departments' bars from the same figures; a bar opens
    # the list it counts.
    drawn = page.evaluate("""() => {
        const chart = GuanjiaCharts.Chart.getChart(document.querySelector('#chart-departments'));
        const bar = chart.getDatasetMeta(0).data[0];
        const box = chart.canvas.getBoundingClientRect();
        return {labels: chart.data.labels, red: chart.data.datasets[0].data,
                x: box.left + (bar.x + bar.base) / 2, y: box.top + bar.y};
    }""")
    first = drawn["labels"][0]
    assert drawn["red"][0] == 2 and first in ("住建局", "自然资源局")
    page.mouse.click(drawn["x"], drawn["y"])
    page.wait_for_url("**/dashboard/items?*")
    assert "light=red" in page.url and int(page.locator("#total").inner_text()) == 2
    for name, (href, number) in found.items():
        page.goto(f"{live.url}{href}")
        assert int(page.locator("#total").inner_text()) == number, (name, href)
    page.goto(f"{live.url}/dashboard")
    page.locator("#red-list a.strong", has_text="固定资产投资项目节能审查").click()
    page.wait_for_url(f"**/cases/{case_id}")
    assert "硅材料基地项目" in page.content()
    assert not page.console_errors and not page.external_requests

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/dashboard")
    assert fits(page), "the dashboard scrolls sideways at 390 px"
    assert page.locator("#red-list thead").is_hidden()  # the red list reads as cards
    page.screenshot(path=str(screenshots_dir / "dashboard-phone.png"), full_page=True)
    page.goto(f"{live.url}/cases?status=running")
    assert fits(page), "the case list scrolls sideways at 390 px"
    page.screenshot(path=str(screenshots_dir / "cases-phone.png"), full_page=True)


def test_enterprise_portal_fits_a_phone(app: Flask, live: LiveServer, page: Any,
                                        frozen_clock: FrozenClock,
                                        screenshots_dir: Path) -> None:
    a_real_case_late(app, frozen_clock)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live.url, "qiye")
    page.goto(f"{live.url}/portal")
    assert "硅材料基地项目" in page.content()
    assert fits(page), "the portal scrolls sideways at 390 px"
    page.screenshot(path=str(screenshots_dir / "portal-phone.png"), full_page=True)
