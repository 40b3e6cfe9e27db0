"""Issue 17 (part A) in Chromium: the bureau records a project in the reserve, moves it from
洽谈 to 签约 with a reason, sees it on the board, and converts it into a case filed for its
investor, who then finds it in the portal. Screenshots: test-artifacts/screenshots/reserve-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.engine.clock import FrozenClock
from tests.conftest import ROOT
from tests.helpers.browser import LiveServer
from tests.helpers.browser_driver import Browser


@pytest.fixture
def live(make_app: Any) -> Iterator[LiveServer]:
    app = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                   GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    server = LiveServer(app)
    yield server
    server.stop()


def test_the_bureau_converts_a_reserve_project_into_a_case_in_the_browser(
        live: LiveServer, page: Any, screenshots_dir: Path,
        frozen_clock: FrozenClock) -> None:
    base = live.url
    b = Browser(page, base)
    b.sign_in("zhaoshang")
    page.click("nav.mainnav >> text=项目储备")
    page.click("text=录入项目")
    page.fill("#name", "六苴镇铜材深加工项目")
    page.fill("#investor", "企业甲")
    page.select_option("#industry", "manufacturing")
    page.fill("#investment_wan", "45000")
    page.select_option("#area", "六苴镇")
    page.select_option("#leader", "lingdao")
    page.select_option("#department", "bureau")
    page.select_option("#liaison", "zhaoshang")
    page.fill("#next_step", "签订投资协议")
    page.fill("#next_step_on", "2026-12-15")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/reserve/*")
    assert page.inner_text("#stage") == "洽谈"

    # No reason, no move: the field says so and the stage stays.
    page.click("form[action$='/stage'] button")
    page.wait_for_load_state()
    assert "请填写调整原因" in page.inner_text("main")
    assert [e for e in page.console_errors if "422" not in e] == []  # the refusal's status
    page.console_errors.clear()
    page.fill("#reason", "2026年11月23日签订投资协议")
    page.click("form[action$='/stage'] button")
    page.wait_for_load_state()
    assert page.inner_text("#stage") == "签约"
    assert "2026年11月23日签订投资协议" in page.inner_text("main")
    page.screenshot(path=str(screenshots_dir / "reserve-project.png"), full_page=True)

    page.click("text=按阶段看板")
    assert "六苴镇铜材深加工项目" in page.inner_text("#column-signed")
    assert "六苴镇铜材深加工项目" not in page.inner_text("#column-talks")
    page.screenshot(path=str(screenshots_dir / "reserve-board.png"), full_page=True)

    page.click("#column-signed >> text=六苴镇铜材深加工项目")
    page.click("#convert")
    page.wait_for_url("**/convert")
    assert page.input_value("#f-project_name") == "六苴镇铜材深加工项目"
    assert page.input_value("#enterprise_id") != ""  # the investor's account, chosen
    b.fill({"project_location": "六苴镇工业片区", "policy_compliant": True,
            "project_summary": "铜材深加工生产线", "service_mode": "full",
            "item_codes": ["project_filing"], "contact_name": "李明",
            "contact_phone": "0878-6222000", "applicant_declaration": True})
    page.screenshot(path=str(screenshots_dir / "reserve-convert.png"), full_page=True)
    page.click("#file-submit")
    page.wait_for_url("**/cases/*")
    assert "六苴镇铜材深加工项目" in page.inner_text("h1")
    assert "六苴镇" in page.inner_text(".pagehead")
    page.screenshot(path=str(screenshots_dir / "reserve-case.png"), full_page=True)

    # The investor sees the case in its portal as if it had applied itself.
    b.sign_in("qiye")
    page.goto(f"{base}/portal")
    assert "六苴镇铜材深加工项目" in page.inner_text("main")
    page.screenshot(path=str(screenshots_dir / "reserve-portal.png"), full_page=True)
    assert page.console_errors == [] and page.external_requests == []
