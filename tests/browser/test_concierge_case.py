"""The real concierge process played in Chromium, every step through the pages.

The enterprise applies for three items owned by three departments; the bureau reviews and
its head signs; the window forms the steward team, the steward drafts the plan, the
enterprise agrees; the window hands over, signs the entrustment, gives the one-time notice
and issues the task sheets; each department takes its sheet (the first one trips over a
required field), accepts the materials and handles its item; the window tells the enterprise
each result; completion sheet, the enterprise's signature and evaluation, return visit and
archive close the case. Screenshots go to test-artifacts/screenshots/concierge-*.png.
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
from tests.scenarios.conftest import FORM_DATA

# Three catalog items, one per department, none a prerequisite of another (their task sheets
# all go out at once), and the agent who signs in for each.
ITEMS = {
    "energy_review": ("fgj", "固定资产投资项目节能审查"),
    "land_use_planning_permit": ("zrzy", "建设用地规划许可证核发"),
    "env_impact_form": ("sthj", "环境影响报告表审批"),
}


@pytest.fixture
def live(make_app: Any) -> Iterator[LiveServer]:
    app = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                   GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    server = LiveServer(app)
    yield server
    server.stop()




def test_a_three_department_concierge_case_in_the_browser(
        live: LiveServer, page: Any, screenshots_dir: Path,
        frozen_clock: FrozenClock) -> None:
    base = live.url
    b = Browser(page, base)

    # The enterprise applies online, choosing three items of three departments.
    b.sign_in("qiye")
    assert page.url.endswith("/portal")
    page.click("text=在线申请")
    assert page.input_value("#f-enterprise_name") == "企业甲"
    b.fill({"project_name": "年产5GW光伏组件项目", "industry": "manufacturing",
            "project_location": "大姚县工业园区", "investment_wan": 80000,
            "policy_compliant": True, "investment_agreement_signed": True,
            "project_summary": "签约落地的重大制造业项目", "service_mode": "full",
            "item_codes": list(ITEMS), "contact_name": "李明",
            "contact_phone": "0878-6222000", "applicant_declaration": True})
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal/cases/*")
    case_id = page.url.rsplit("/", 1)[1]

    # Acceptance: the bureau reviews, its head signs.
    b.do("zhaoshang", "审核申请", "application_review")
    b.do("juzhang", "签字确认受理", "acceptance_sign")
    # Team, plan, the enterprise's agreement, hand-over at the window.
    b.do("zhuanchuang", "组建项目管家团队", "steward_team")
    b.do("guanjia", "制定服务方案", "service_plan")
    b.do("qiye", "与企业协商确认方案", "service_plan_agreement")
    b.do("zhaoshang", "专窗当面交办", "hand_over")
    b.do("zhuanchuang", "签订委托协议", "entrustment_agreement")
    b.do("zhuanchuang", "一次性书面告知", "one_time_notice")
    b.do("zhuanchuang", "制作并推送任务分送单", "task_sheet")

    # 专窗吹哨: each department finds exactly its own sheet in its list.
    for agent, item_name in ITEMS.values():
        b.sign_in(agent)
        page.goto(f"{base}/tasks")
        names = page.locator("table.tasks a.strong").all_inner_texts()
        assert names == ["到专窗领受任务单"], (agent, names)
        if agent == "fgj":
            page.screenshot(path=str(screenshots_dir / "concierge-tasklist-fgj.png"),
                            full_page=True)
        b.open_task("到专窗领受任务单")
        assert item_name in page.inner_text("dl.facts")
        receipt = dict(FORM_DATA["task_sheet_receipt"], receiver_name=f"{agent} 代办员")
        if agent == "fgj":
            # The receiver's name left out: the form comes back with the message inline.
            b.fill({k: v for k, v in receipt.items() if k != "receiver_name"})
            b.submit()
            assert page.locator("#err-receiver_name").inner_text() == "此项为必填"
            assert page.locator(".field.has-error #f-receiver_name").count() == 1
            # What was typed is still there.
            assert page.input_value("#f-receiver_phone") == receipt["receiver_phone"]
            # Date fields read with their own Chinese labels, here and in earlier decisions.
            assert page.inner_text("label[for=f-received_at]").startswith("领受时间")
            assert "handed_over_at" not in page.inner_text("aside")
            page.screenshot(path=str(screenshots_dir / "concierge-form-error.png"),
                            full_page=True)
            page.fill("#f-receiver_name", receipt["receiver_name"])
            b.submit()
            assert "任务已提交" in page.inner_text(".flashes")
        else:
            b.fill(receipt)
            b.submit()
            assert "任务已提交" in page.inner_text(".flashes")

    # Mid-way: the bureau follows the case on its page, the diagram marks where it stands.
    b.sign_in("zhaoshang")
    page.goto(f"{base}/cases/{case_id}")
    page.wait_for_selector("#diagram[data-state=ready]")
    assert page.locator("#diagram .djs-element.gj-active").count() >= 1
    assert page.locator("#diagram .djs-element.gj-done").count() >= 5
    assert "进行中" in page.inner_text("h1")
    page.screenshot(path=str(screenshots_dir / "concierge-case-midway.png"), full_page=True)

    # Each department accepts the materials and handles its item; the window reports back.
    for agent, item_name in ITEMS.values():
        b.do(agent, "审查材料并确定受理方式", "item_acceptance")
        b.do(agent, "部门办理审批事项", "item_handling",
             handling_opinion=f"{item_name}准予许可")
        b.sign_in(agent)
        page.goto(f"{base}/tasks")
        assert page.locator("table.tasks tbody tr a.strong").count() == 0
        b.do("zhuanchuang", "专窗告知企业办理结果", "result_notice")

    # Completion, evaluation, return visit and archive.
    b.do("guanjia", "填写办结单并移交资料", "completion_sheet")
    b.do("qiye", "企业签字确认办结", "completion_sign")
    b.do("qiye", "满意度评价", "satisfaction_evaluation", satisfaction_level="5")
    b.do("zhuanchuang", "定期回访", "return_visit")
    b.do("zhuanchuang", "一事一档归档", "archive")

    # Nobody has anything left to do on it; the case shows as completed.
    b.sign_in("zhaoshang")
    page.goto(f"{base}/cases/{case_id}")
    page.wait_for_selector("#diagram[data-state=ready]")
    assert "已完成" in page.inner_text("h1 .state")
    assert page.locator("#diagram .djs-element.gj-active").count() == 0
    rows = page.locator("table.items tbody tr")
    assert rows.filter(has_text="待办理").count() == 0
    handled = rows.filter(has_text="部门办理审批事项")
    # who handled each item, by name (issue 19: words, not usernames)
    assert sorted(handled.locator("td:last-child").all_inner_texts()) == sorted(
        ["发改局", "生态环境局", "自然资源局"])
    page.screenshot(path=str(screenshots_dir / "concierge-case-completed.png"), full_page=True)

    # The enterprise follows the same case node by node in its portal: each department's
    # handling shows as done, under that department's name.
    b.sign_in("qiye")
    page.goto(f"{base}/portal/cases/{case_id}")
    assert "已完成" in page.inner_text("h1 .state")
    nodes = page.locator("ol.progress li.node", has_text="部门办理审批事项")
    assert nodes.count() == 3
    assert all("completed" in (n.get_attribute("class") or "") for n in nodes.all())
    assert sorted(n.locator(".chip").inner_text() for n in nodes.all()) == sorted(
        ["发改局", "自然资源局", "生态环境局"])
    assert page.locator("ol.progress li.node.ready").count() == 0
    page.screenshot(path=str(screenshots_dir / "concierge-portal-completed.png"),
                    full_page=True)
    # The one expected "error": the 422 answer that carried the form back with its message.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
    assert page.external_requests == []
