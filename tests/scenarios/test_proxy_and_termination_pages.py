"""Issue 13 in the browser: the enterprise generates its confirmation code in the portal, the
window does the enterprise's step for it on the case page with that code, and the portal lists
the proxy action (代办记录); termination is asked for in the portal and decided by the
responsible leader on the case page, nobody else (403, nothing changed)."""

from __future__ import annotations

import re

from flask import Flask

from tests.conftest import table_counts
from tests.scenarios.conftest import FORM_DATA, Walker
from tests.web.helpers import Web

CODE = re.compile(r'<b class="code">(\d{6})</b>')


def _to_plan_agreement(walker: Walker) -> str:
    walker.start()
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team")
    walker.do("guanjia", "draft_service_plan")
    [task] = walker.ready("agree_service_plan")
    return str(task["id"])


def test_the_window_agrees_the_plan_for_the_enterprise_with_its_portal_code(
        concierge_app: Flask, walker: Walker) -> None:
    task_id = _to_plan_agreement(walker)
    case_page = f"/cases/{walker.case_id}"
    proxy_page = f"{case_page}/proxy/{task_id}"
    window = Web(concierge_app)
    window.login("zhuanchuang")
    assert proxy_page in window.text(case_page)       # the case page offers the step
    form = window.text(proxy_page)
    assert "企业确认方式" in form and 'name="plan_decision"' in form

    # Without a confirmation: refused with the reason, nothing changed.
    before = table_counts(concierge_app)
    refused = window.post(proxy_page, FORM_DATA["service_plan_agreement"], token_from=proxy_page)
    assert refused.status_code == 422
    assert "代企业办理须经企业确认" in refused.get_data(as_text=True)
    assert table_counts(concierge_app) == before

    enterprise = Web(concierge_app)
    enterprise.login("qiye")
    portal = f"/portal/cases/{walker.case_id}"
    assert "生成确认码" in enterprise.text(portal)
    issued = enterprise.post(f"{portal}/proxy-code", token_from=portal)
    assert issued.status_code == 200
    [code] = CODE.findall(issued.get_data(as_text=True))
    # Another enterprise cannot issue one for this case.
    other = Web(concierge_app)
    other.login("qiye_b")
    assert other.post(f"{portal}/proxy-code", token_from="/portal").status_code == 403

    done = window.post(proxy_page, {**FORM_DATA["service_plan_agreement"],
                                    "confirmation_kind": "code", "confirmation_code": code},
                       token_from=proxy_page)
    assert done.status_code == 302
    assert walker.ready_ids() == ["hand_over_to_window"]
    shown = enterprise.text(portal)
    assert "代办记录" in shown and "企业一次性确认码" in shown
    assert "与企业协商确认方案" in shown.split("代办记录")[1]


def test_a_steward_cannot_act_for_the_enterprise(concierge_app: Flask, walker: Walker) -> None:
    task_id = _to_plan_agreement(walker)
    proxy_page = f"/cases/{walker.case_id}/proxy/{task_id}"
    steward = Web(concierge_app)
    steward.login("guanjia")
    assert steward.get(proxy_page).status_code == 404
    before = table_counts(concierge_app)
    refused = steward.post(proxy_page, {**FORM_DATA["service_plan_agreement"],
                                        "confirmation_kind": "code",
                                        "confirmation_code": "123456"},
                           token_from=f"/cases/{walker.case_id}")
    assert refused.status_code == 403
    assert table_counts(concierge_app) == before


def test_the_enterprise_asks_to_terminate_and_only_the_named_leader_decides(
        concierge_app: Flask, walker: Walker) -> None:
    walker.start()
    walker.accept()
    walker.hand_over()
    portal = f"/portal/cases/{walker.case_id}"
    enterprise = Web(concierge_app)
    enterprise.login("qiye")
    page = enterprise.text(portal)
    assert "项目单位主动提出要求终止" in page and "因重大政策调整等原因无法完成审批" in page
    assert f'action="{portal}/termination"' in page
    before = table_counts(concierge_app)
    refused = enterprise.post(f"{portal}/termination", {"detail": "调整投资计划"},
                              token_from=portal)
    assert refused.status_code == 422 and "请选择终止原因" in refused.get_data(as_text=True)
    assert table_counts(concierge_app) == before
    asked = enterprise.post(f"{portal}/termination", {"reason_code": "enterprise_request",
                                                      "detail": "调整投资计划"},
                            token_from=portal)
    assert asked.status_code == 302
    assert "待领导决定" in enterprise.text(portal)

    case_page = f"/cases/{walker.case_id}"
    decision = f"{case_page}/termination/decision"
    before = table_counts(concierge_app)
    for other in ("zhuanchuang", "guanjia", "lingdao2"):
        web = Web(concierge_app)
        web.login(other)
        assert decision not in web.text(case_page)
        assert web.post(decision, {"decision": "approve"}, token_from=case_page
                        ).status_code == 403
    assert table_counts(concierge_app) == before
    leader = Web(concierge_app)
    leader.login("lingdao")
    assert decision in leader.text(case_page)
    assert leader.post(decision, {"decision": "approve", "note": "同意"},
                       token_from=case_page).status_code == 302
    assert walker.ready_ids() == ["fill_termination_sheet"]
    assert "同意终止" in enterprise.text(portal)
