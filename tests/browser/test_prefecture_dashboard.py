"""A prefecture leader at the dashboard in Chromium (issue 21): the counties side by side,
each county's numbers those its own leader sees, a county's bar and name opening its list
and its dashboard; a county's leader sees no comparison. Screenshots:
test-artifacts/screenshots/prefecture-dashboard-{desktop,phone}.png and
prefecture-dashboard-county.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from tests.helpers.browser import LiveServer, sign_in, sign_out
from tests.helpers.browser_fit import fits
from tests.helpers.rollups import A, B, prefecture
from tests.web.dashboard_seed import shipped_app


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def figures(page: Any) -> dict[str, int]:
    """Every linked number the page shows, by its data-count."""
    out = {}
    for link in page.locator("a[data-count]").all():
        out[str(link.get_attribute("data-count"))] = int(
            re.findall(r"\d+", link.inner_text())[-1])
    return out


def row(page: Any, code: str) -> list[str]:
    """A county's row of the comparison as the leader reads it, cell by cell."""
    return [" ".join(cell.inner_text().split())
            for cell in page.locator(f"#county-table tr[data-county='{code}'] td").all()]


def test_a_prefecture_leader_compares_the_counties_and_opens_one(
        app: Flask, live: LiveServer, page: Any, frozen_clock: FrozenClock,
        screenshots_dir: Path) -> None:
    prefecture(app)
    # What each county's own leader sees.
    own = {}
    for code, leader in ((A, "lingdao"), (B, "b_lingdao")):
        sign_in(page, live.url, leader)
        page.goto(f"{live.url}/dashboard")
        assert page.locator("#county-table").count() == 0
        own[code] = figures(page)
        sign_out(page)

    sign_in(page, live.url, "zhou")
    page.goto(f"{live.url}/dashboard")
    assert row(page, A) == ["大姚县", "4", "2", "1", "2", "3", "3", "50% 1/2",
                            "1", "1 其中成立 1"]
    assert row(page, B) == ["姚安县", "2", "1", "0", "1", "2", "1", "0% 0/1",
                            "1", "2 其中成立 1"]
    shown = figures(page)
    for code in (A, B):
        assert shown[f"county-{code}-items"] == own[code]["items-total"]
        assert shown[f"county-{code}-red"] == own[code]["items-red"]
        assert shown[f"county-{code}-projects-red"] == own[code]["projects-red"]
        assert shown[f"county-{code}-projects"] == own[code]["projects-total"]
        assert shown[f"county-{code}-month-new"] == own[code]["month-new"]
    assert shown["items-total"] == own[A]["items-total"] + own[B]["items-total"]
    page.screenshot(path=str(screenshots_dir / "prefecture-dashboard-desktop.png"),
                    full_page=True)

    # The bundled Chart.js draws the counties' bars; 姚安's red bar opens its red items.
    drawn = page.evaluate("""() => {
        const chart = GuanjiaCharts.Chart.getChart(document.querySelector('#chart-counties'));
        const bar = chart.getDatasetMeta(0).data[1];
        const box = chart.canvas.getBoundingClientRect();
        return {labels: chart.data.labels, red: chart.data.datasets[0].data,
                x: box.left + (bar.x + bar.base) / 2, y: box.top + bar.y};
    }""")
    assert drawn["labels"] == ["大姚县", "姚安县"] and drawn["red"] == [2, 1]
    page.mouse.click(drawn["x"], drawn["y"])
    page.wait_for_url("**/dashboard/items?*")
    assert f"county={B}" in page.url and "light=red" in page.url
    assert int(page.locator("#total").inner_text()) == 1
    assert "姚安花卉产业园" in page.content() and "风电基地项目" not in page.content()

    # Every number of the table opens a list of that many.
    page.goto(f"{live.url}/dashboard")
    for name, number in shown.items():
        if name.startswith("county-"):
            href = page.locator(f"a[data-count='{name}']").get_attribute("href")
            page.goto(f"{live.url}{href}")
            assert int(page.locator("#total").inner_text()) == number, name
            page.goto(f"{live.url}/dashboard")

    # The county's name opens its dashboard: the very numbers its own leader sees.
    page.locator(f"a[data-county-link='{B}']").click()
    page.wait_for_url(f"**/dashboard?county={B}")
    assert page.locator("#county-shown").inner_text() == "姚安县"
    assert page.locator("#county-table").count() == 0
    assert figures(page) == own[B]
    page.screenshot(path=str(screenshots_dir / "prefecture-dashboard-county.png"),
                    full_page=True)
    assert not page.console_errors and not page.external_requests

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/dashboard")
    assert fits(page), "the prefecture's dashboard scrolls sideways at 390 px"
    assert page.locator("#county-table thead").is_hidden()  # the table reads as cards
    page.screenshot(path=str(screenshots_dir / "prefecture-dashboard-phone.png"),
                    full_page=True)
