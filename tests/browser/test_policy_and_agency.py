"""In Chromium, the enterprise reads the policy pushed to it (为您推荐的政策) and chooses its own
agency for the 环评 report its item needs (中介超市); the case page then shows the agency's due
date beside the plan's timeline. Screenshots: test-artifacts/screenshots/policy-*.png and
agency-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import update

from server.engine.clock import FrozenClock
from tests.helpers.browser import LiveServer, sign_in
from tests.helpers.intermediaries import EIA, _market, case_in_handling
from tests.web.helpers import Web


def test_the_enterprise_reads_a_pushed_policy_and_chooses_an_agency_in_the_portal(
        make_app: Any, frozen_clock: FrozenClock, page: Any, screenshots_dir: Path) -> None:
    walker = case_in_handling(make_app, frozen_clock)
    from server.extensions import db
    from server.models import Case

    def in_jinbi() -> None:  # a 新能源 project in 金碧镇
        case = db.session.get(Case, walker.case_id)
        summary = case.summary.replace('"manufacturing"', '"energy"')
        db.session.execute(update(Case).where(Case.id == walker.case_id)
                           .values(area="金碧镇", summary=summary))
        db.session.commit()

    walker.run(in_jinbi)
    _market(walker)
    bureau = Web(walker.app)
    bureau.login("zhaoshang")
    made = bureau.post("/policies", {
        "title": "新能源产业扶持政策（2026）", "issuer": "大姚县人民政府",
        "summary": "光伏、储能项目用地和电价支持",
        "body": "第一条 对在金碧镇落地的新能源项目给予用地保障。",
        "industries": ["energy"], "areas": ["金碧镇"]}, token_from="/policies")
    policy_page = made.headers["Location"]
    assert bureau.post(f"{policy_page}/publish", token_from=policy_page).status_code == 302

    live = LiveServer(walker.app)
    try:
        base = live.url
        sign_in(page, base, "qiye")
        page.goto(f"{base}/portal")
        page.click("nav.mainnav a:text-is('为您推荐的政策')")
        page.wait_for_url("**/policies/for-me")
        row = page.locator("#policies-for-me tbody tr")
        assert row.count() == 1 and "未读" in row.inner_text()
        page.screenshot(path=str(screenshots_dir / "policy-for-you.png"), full_page=True)
        page.click("#policies-for-me a.strong")
        page.wait_for_selector("#mark-read")
        assert "第一条" in page.inner_text(".policy-body")
        page.click("#mark-read")
        page.wait_for_selector("#read-receipt")
        page.screenshot(path=str(screenshots_dir / "policy-read.png"), full_page=True)

        page.goto(f"{base}/portal/cases/{walker.case_id}")
        page.click("a:text-is('中介服务（中介超市）')")
        page.wait_for_url("**/agencies/cases/*")
        need = page.locator(f"tr[data-service='{EIA}']")
        need.locator("select[name=agency_id]").select_option(label="云南甲环评咨询有限公司（环境影响评价（报告书类别））")
        page.screenshot(path=str(screenshots_dir / "agency-choose.png"), full_page=True)
        need.locator("button:text-is('自主选定')").click()
        page.wait_for_load_state()
        assert "已选定中介机构" in page.content() and "2026-11-30" in need.inner_text()
        page.goto(f"{base}/portal/cases/{walker.case_id}")
        agency_row = page.locator("tr.agency-row")
        assert agency_row.get_attribute("data-light") == "green"
        assert "云南甲环评咨询有限公司" in agency_row.inner_text()
        agency_row.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots_dir / "agency-timeline.png"), full_page=True)
        assert page.console_errors == [] and page.external_requests == []
    finally:
        live.stop()

    receipts = bureau.text(policy_page)
    # The case's lead steward got it too and has not read it yet.
    assert "1 / 2" in receipts and "企业甲经办人" in receipts
