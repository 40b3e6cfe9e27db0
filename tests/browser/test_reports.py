"""A leader opens the month's report on the reports page; the 主要负责人 signs it off; the
page fits a 390 px phone. Screenshots: test-artifacts/screenshots/reports-list.png,
report-monthly-desktop.png, report-signed.png and report-phone.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from server.extensions import db
from server.services import report_books
from tests.helpers.browser import LiveServer, sign_in, sign_out
from tests.helpers.browser_fit import fits
from tests.helpers.dashboard import county
from tests.web.dashboard_seed import shipped_app


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def test_leader_opens_the_months_report_and_the_bureau_head_signs_it_off(
        app: Flask, live: LiveServer, page: Any, frozen_clock: FrozenClock,
        screenshots_dir: Path) -> None:
    county(app)
    with app.app_context():
        report_books.prepare("monthly", "2026-11")
        db.session.remove()
    sign_in(page, live.url, "lingdao")
    page.click("nav.mainnav >> text=报表")
    page.wait_for_url("**/reports")
    row = page.locator('tr[data-report="monthly-2026-11"]')
    assert "2026-12-05" in row.inner_text() and "未到期" in row.inner_text()
    assert "待审定" in row.inner_text()
    page.screenshot(path=str(screenshots_dir / "reports-list.png"), full_page=True)
    row.locator("a").click()
    page.wait_for_url("**/reports/*")
    assert page.locator("#report-title").inner_text() == "重点招商项目情况表（2026年11月）"
    situation = page.locator('table[data-table="情况表"] tbody tr')
    assert situation.count() == 6  # five projects and the 合计 row
    town = page.locator('table[data-table="情况表"] tbody tr', has_text="文旅小镇项目")
    assert [town.locator("td").nth(i).inner_text() for i in range(8, 12)] == ["4", "2", "2",
                                                                               "2"]
    assert page.locator("#sign-form").count() == 0  # a leader reads; he does not sign
    page.screenshot(path=str(screenshots_dir / "report-monthly-desktop.png"), full_page=True)
    url = page.url
    sign_out(page)

    sign_in(page, live.url, "juzhang")
    page.goto(url)
    page.locator("#sign-form button").click()
    page.wait_for_load_state()
    assert page.locator("#report-state").inner_text() == "已审定"
    assert "主要负责人审定：局长" in page.content()
    page.screenshot(path=str(screenshots_dir / "report-signed.png"), full_page=True)
    assert not page.console_errors and not page.external_requests

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    assert fits(page), "the report scrolls sideways at 390 px"
    page.screenshot(path=str(screenshots_dir / "report-phone.png"), full_page=True)
