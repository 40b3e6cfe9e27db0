"""A whole case played in Chromium as the real roles sign in one after another.

The enterprise applies in the portal, the bureau reviews, two departments take their task
sheets (one first trips over a validation error), handle and report, the window closes the
case; the case page shows the diagram with its markers. Screenshots go to
test-artifacts/screenshots/workspace-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import ROOT
from tests.helpers.browser import LiveServer, sign_in, sign_out


def open_task(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/tasks")
    page.click(f"table.tasks a.strong:text-is('{name}')")
    page.wait_for_url("**/tasks/*")


def submit(page: Any) -> None:
    page.click("button[value=submit]")
    page.wait_for_load_state()


def test_a_whole_case_in_the_browser(live: LiveServer, page: Any, screenshots_dir: Path,
                                     frozen_clock: FrozenClock) -> None:
    base = live.url
    # The enterprise applies online.
    sign_in(page, base, "qiye")
    assert page.url.endswith("/portal")
    page.click("text=在线申请")
    page.fill("#f-project_name", "年产5GW光伏组件项目")
    page.fill("#f-investment_wan", "80000")
    page.check("input[name=items__codes][value=project_filing]")
    page.check("input[name=items__codes][value=land_use_planning_permit]")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal/cases/*")
    case_path = page.url.replace(base, "")
    assert "审核" in page.inner_text("ol.progress")
    sign_out(page)

    # The bureau reviews it from its task list.
    sign_in(page, base, "zhaoshang")
    rows = page.locator("table.tasks tbody tr")
    assert rows.count() == 1
    assert "黄灯" in rows.first.inner_text() and "剩余1个工作日" in rows.first.inner_text()
    page.screenshot(path=str(screenshots_dir / "workspace-tasklist.png"), full_page=True)
    open_task(page, base, "审核")
    page.check("input[name=approved]")
    page.fill("#f-review_note", "符合受理条件")
    submit(page)
    assert "任务已提交" in page.inner_text(".flashes")
    sign_out(page)

    # Each department takes its sheet, handles the item and reports.
    for user in ("fgj", "zrzy"):
        sign_in(page, base, user)
        open_task(page, base, "领取任务单")
        if user == "fgj":
            submit(page)  # the receiver is required
            assert page.locator("#err-receiver").inner_text() == "此项为必填"
            assert page.locator(".field.has-error #f-receiver").count() == 1
            page.screenshot(path=str(screenshots_dir / "workspace-form-error.png"),
                            full_page=True)
        page.fill("#f-receiver", f"{user} 帮办员")
        submit(page)
        open_task(page, base, "办理")
        page.select_option("#f-outcome", "approved")
        submit(page)
        open_task(page, base, "反馈结果")
        submit(page)
        assert page.locator("table.tasks tbody tr").count() == 0
        sign_out(page)

    # The window closes the case.
    sign_in(page, base, "zhuanchuang")
    open_task(page, base, "办结")
    page.fill("#f-closing_note", "全部事项办结")
    submit(page)
    sign_out(page)

    # Everyone can follow it: the bureau on the case page, the enterprise in its portal.
    sign_in(page, base, "zhaoshang")
    page.goto(base + case_path.replace("/portal/cases/", "/cases/"))
    assert "已完成" in page.inner_text("h1")
    assert page.locator("ol.timeline li").count() >= 10
    page.screenshot(path=str(screenshots_dir / "workspace-case-fixture.png"), full_page=True)
    sign_out(page)
    sign_in(page, base, "qiye")
    page.goto(base + case_path)
    assert page.locator("ol.progress li.completed").count() == 8
    with page.expect_popup() as popup:
        page.click("a:text-is('办结')")
    record = popup.value
    record.wait_for_load_state()
    assert "全部事项办结" in record.inner_text("table.record")
    record.screenshot(path=str(screenshots_dir / "workspace-record.png"))
    # The one expected "error": the 422 answer that carried the form back with its message.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
    assert page.external_requests == []


@pytest.fixture
def real_live(make_app: Any) -> Iterator[LiveServer]:
    app = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                   GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    server = LiveServer(app)
    server.app = app  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_case_page_of_the_concierge_process_marks_the_diagram(
        real_live: LiveServer, page: Any, screenshots_dir: Path,
        frozen_clock: FrozenClock) -> None:
    from sqlalchemy import select

    from server.cli import sample_application
    from server.extensions import db
    from server.models import User
    from server.services.cases import start_case

    app: Flask = real_live.app  # type: ignore[attr-defined]
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "qiye")).scalar_one()
        case_id = start_case(user, "concierge_service", sample_application()).id
        db.session.remove()
    base = real_live.url
    sign_in(page, base, "zhaoshang")
    page.goto(f"{base}/cases/{case_id}")
    page.wait_for_selector("#diagram[data-state=ready]")
    assert page.locator("#diagram .djs-element.gj-active").count() >= 1
    page.screenshot(path=str(screenshots_dir / "workspace-case.png"), full_page=True)
    # The first task's form, rendered from forms/ with its Chinese labels.
    page.goto(f"{base}/tasks")
    page.locator("table.tasks a.strong").first.click()
    page.wait_for_url("**/tasks/*")
    assert page.locator("form.taskform .field").count() >= 2
    page.screenshot(path=str(screenshots_dir / "workspace-task-real.png"), full_page=True)
    assert page.console_errors == [] and page.external_requests == []
