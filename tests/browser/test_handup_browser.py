"""In the browser: 大姚's 生态环境局 hands its 环评报告书 up, 州生态环境局 accepts and approves it
from its list, and the county's item shows the approval number (issue 21)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.engine.clock import FrozenClock
from tests.helpers.browser import LiveServer, sign_in, sign_out
from tests.helpers.handups import prefecture_item_in_handling


def test_a_county_hands_up_and_the_prefecture_decides_in_the_browser(
        make_app: Any, frozen_clock: FrozenClock, page: Any, screenshots_dir: Path) -> None:
    walker, task_id = prefecture_item_in_handling(make_app, frozen_clock)
    live = LiveServer(walker.app)
    try:
        base = live.url
        sign_in(page, base, "sthj")
        page.goto(f"{base}/tasks/{task_id}")
        page.fill("#handup-note", "初审同意，报州生态环境局审批")
        page.click("#handup-form button[type=submit]")
        page.wait_for_load_state()
        assert "上级审批中" in page.text_content("#item-clock")
        assert page.get_attribute("#handup-progress", "data-state") == "sent"
        page.screenshot(path=str(screenshots_dir / "handup-county-sent.png"), full_page=True)
        sign_out(page)

        sign_in(page, base, "zhou_sthj")
        page.click("#nav-handups")
        page.click("#handups a")
        page.click("#handup-accept button[type=submit]")
        page.wait_for_load_state()
        assert page.get_attribute("#handup-progress", "data-state") == "accepted"
        page.check("#handup-decide input[value=approve]")
        page.fill("#approval-number", "楚环审〔2026〕12号")
        page.click("#handup-decide button[type=submit]")
        page.wait_for_load_state()
        assert "楚环审〔2026〕12号" in page.text_content("#handup-decision")
        page.screenshot(path=str(screenshots_dir / "handup-prefecture-decided.png"),
                        full_page=True)
        sign_out(page)

        sign_in(page, base, "sthj")
        page.goto(f"{base}/tasks/{task_id}")
        assert "楚环审〔2026〕12号" in page.text_content("#handup-decision")
        page.screenshot(path=str(screenshots_dir / "handup-county-back.png"), full_page=True)
        assert page.console_errors == [] and page.external_requests == []
    finally:
        live.stop()
