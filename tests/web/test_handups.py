"""A 州-level item handed up from a 大姚 case to the prefecture department (issue 21): 大姚's
生态环境局 hands its 环评报告书 up, 州生态环境局 finds it in its list with the case's materials,
accepts it (its own 60-day clock) and decides; the county item shows 上级审批中 with that
progress, and the county clock runs again with the decision. Both timelines show the hand-over;
姚安 and other prefecture departments see nothing of it."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest

from server.engine.clock import FrozenClock
from server.extensions import db
from server.services import timers
from server.services.errors import ConflictError
from tests.conftest import table_counts
from tests.helpers.handups import prefecture_item_in_handling
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web

NOTE = "初审同意，材料齐全，报州生态环境局审批"
HANDUP_EVENTS = ("item_referred_upward", "handup_received", "handup_decided",
                 "item_returned_from_referral")


def _hand_up(walker: Walker, task_id: str) -> tuple[Web, int]:
    page = f"/tasks/{task_id}"
    sthj = Web(walker.app)
    sthj.login("sthj")
    html = sthj.text(page)
    # A 州-level item is handed up to the prefecture department, not referred by free text.
    assert 'id="handup-form"' in html and 'id="refer-form"' not in html
    sent = sthj.post(f"{page}/handup", {"note": NOTE}, token_from=page)
    assert sent.status_code == 302
    html = sthj.text(page)
    assert "已交州级部门审批" in html and "上级审批中" in html
    assert "州生态环境局" in html and "待受理" in html
    link = re.search(r'href="/handups/(\d+)"', html)
    assert link is not None
    return sthj, int(link.group(1))


def _events(walker: Walker) -> list[str]:
    return [e["type"] for e in walker.events() if e["type"] in HANDUP_EVENTS]


def test_a_handed_up_item_is_decided_by_the_prefecture_and_the_county_case_goes_on(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    walker, task_id = prefecture_item_in_handling(make_app, frozen_clock)
    county_clerk = Web(walker.app)
    county_clerk.login("sthj")
    # The enterprise's report, brought in at the county: it goes up with the item.
    assert county_clerk.post(f"/tasks/{task_id}/attachments", {
        "file": (io.BytesIO(b"%PDF-1.4 report"), "环境影响报告书.pdf", "application/pdf")},
        content_type="multipart/form-data",
        token_from=f"/tasks/{task_id}").status_code == 302
    sthj, handup_id = _hand_up(walker, task_id)
    [open_item] = walker.ready("handle_item")
    assert open_item["due_at"] is None  # never red on the county while the 州 decides
    # Nor finished by the county while the 州 decides: refused, nothing changes.
    before = table_counts(walker.app)
    with pytest.raises(ConflictError, match="上级审批中"):
        walker.do("sthj", "handle_item")
    assert table_counts(walker.app) == before

    zhou = Web(walker.app)
    zhou.login("zhou_sthj")
    listed = zhou.text("/handups")
    assert "环境影响报告书审批" in listed and 'data-state="sent"' in listed
    assert 'id="nav-handups"' in listed
    page = f"/handups/{handup_id}"
    html = zhou.text(page)
    assert NOTE in html and "第四十三条" in html and 'id="handup-accept"' in html
    assert "州级交办：环境影响报告书审批" in zhou.text("/inbox")
    # The case's materials, readable by the prefecture department (not by another).
    link = re.search(r'href="(/attachments/[^"]+)"', html)
    assert link is not None and "环境影响报告书.pdf" in html
    download = zhou.get(link.group(1))
    assert download.status_code == 200 and download.get_data() == b"%PDF-1.4 report"
    download.close()
    yj = Web(walker.app)
    yj.login("zhou_yj")
    assert yj.get(link.group(1)).status_code == 403
    # The case's pages the department needs to decide, with its materials.
    case_page = zhou.text(f"/cases/{walker.case_id}")
    assert "环境影响报告书审批" in case_page
    assert "年产10万吨绿色硅材料项目" in zhou.text("/cases")

    assert zhou.post(f"{page}/accept", {}, token_from=page).status_code == 302
    html = zhou.text(page)
    assert "已受理，审查中" in html and "60 自然日" in html and 'data-light="green"' in html
    county = sthj.text(f"/tasks/{task_id}")
    assert "已受理，审查中" in county and 'data-light="green"' in county

    assert zhou.post(f"{page}/attachments", {
        "file": (io.BytesIO(b"%PDF-1.4 approval"), "环评批复.pdf", "application/pdf")},
        content_type="multipart/form-data", token_from=page).status_code == 302
    assert "环评批复.pdf" in zhou.text(page)
    frozen_clock.advance(timedelta(days=10))
    refused = zhou.post(f"{page}/decide", {"decision": "approve", "approval_number": ""},
                        token_from=page)
    assert refused.status_code == 302 and "批文号" in zhou.text(page)
    approved = zhou.post(f"{page}/decide", {"decision": "approve",
                                            "approval_number": "楚环审〔2026〕12号"},
                         token_from=page)
    assert approved.status_code == 302
    assert "已决定，县级计时恢复" in zhou.text(page)

    # The county sees the result on its item, its clock runs again, and the case goes on.
    county = sthj.text(f"/tasks/{task_id}")
    assert 'id="handup-decision"' in county and "楚环审〔2026〕12号" in county
    assert "准予许可" in county and 'data-state="approved"' in county
    assert "环评批复.pdf" in county  # the prefecture's document, on the county's task
    # The county's 办理 form comes filled in with the decision, for the department to submit.
    assert 'value="楚环审〔2026〕12号"' in county
    assert "州级办结：环境影响报告书审批" in sthj.text("/inbox")
    [back] = walker.ready("handle_item")
    assert back["due_at"] is not None
    walker.do("sthj", "handle_item")
    assert walker.ready("handle_item") == []

    assert _events(walker) == list(HANDUP_EVENTS)
    steward = Web(walker.app)
    steward.login("guanjia")
    timeline = steward.text(f"/cases/{walker.case_id}")
    for words in ("已上报上级审批", "交州生态环境局审批", "州级部门受理", "州级部门决定",
                  "楚环审〔2026〕12号", "上级审批办结"):
        assert words in timeline, words
    history = zhou.text(page).split('id="handup-history"')[1]
    for words in ("交州级审批", "州级受理", "州级决定", "州级办结回传"):
        assert words in history, words


def test_a_refusal_comes_back_with_its_reason(make_app: Any, frozen_clock: FrozenClock) -> None:
    walker, task_id = prefecture_item_in_handling(make_app, frozen_clock)
    sthj, handup_id = _hand_up(walker, task_id)
    page = f"/handups/{handup_id}"
    zhou = Web(walker.app)
    zhou.login("zhou_sthj")
    # Not yet accepted: no decision; and a refusal must say why.
    before = table_counts(walker.app)
    zhou.post(f"{page}/decide", {"decision": "refuse", "reason": "x"}, token_from=page)
    assert table_counts(walker.app) == before
    zhou.post(f"{page}/accept", {}, token_from=page)
    before = table_counts(walker.app)
    zhou.post(f"{page}/decide", {"decision": "refuse", "reason": ""}, token_from=page)
    assert table_counts(walker.app) == before
    assert "第三十八条" in zhou.text(page)
    # The county cannot close the referral by hand while the 州 holds the item.
    refused = sthj.post(f"/tasks/{task_id}/clock", {"action": "return", "outcome": "已批"},
                        token_from=f"/tasks/{task_id}")
    assert refused.status_code == 302 and "自动回传" in sthj.text(f"/tasks/{task_id}")
    assert table_counts(walker.app) == before

    zhou.post(f"{page}/decide", {"decision": "refuse", "reason": "选址位于饮用水水源保护区"},
              token_from=page)
    county = sthj.text(f"/tasks/{task_id}")
    assert "不予许可：选址位于饮用水水源保护区" in county
    # The prefecture's decision stands: the item is not handed up a second time.
    assert 'id="handup-form"' not in county
    before = table_counts(walker.app)
    again = sthj.post(f"/tasks/{task_id}/handup", {"note": "再报"},
                      token_from=f"/tasks/{task_id}")
    assert again.status_code == 302 and "already handed up" in sthj.text(f"/tasks/{task_id}")
    assert table_counts(walker.app) == before
    assert _events(walker) == list(HANDUP_EVENTS)
    steward = Web(walker.app)
    steward.login("guanjia")
    assert "选址位于饮用水水源保护区" in steward.text(f"/cases/{walker.case_id}")


def test_only_the_prefecture_department_it_was_handed_to_sees_or_acts(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    walker, task_id = prefecture_item_in_handling(make_app, frozen_clock)
    _, handup_id = _hand_up(walker, task_id)
    page = f"/handups/{handup_id}"
    with walker.app.app_context():
        from server.extensions import db
        from server.models import Case

        case = db.session.get(Case, walker.case_id)
        assert case is not None
        reference = case.reference
        db.session.remove()
    before = table_counts(walker.app)
    # 姚安: another county's hand-up does not exist.
    for name in ("b_zhaoshang", "b_lingdao", "b_fgj"):
        other = Web(walker.app)
        other.login(name)
        assert other.get(page).status_code == 404, name
        assert other.post(f"{page}/accept", {}, token_from="/tasks").status_code == 404
        assert reference not in other.text("/handups")
    # Another prefecture department: not its item, and none of the county's pages.
    yj = Web(walker.app)
    yj.login("zhou_yj")
    assert yj.get(page).status_code == 403
    assert yj.get(f"/cases/{walker.case_id}").status_code == 403
    assert reference not in yj.text("/handups") and reference not in yj.text("/tasks")
    assert reference not in yj.text("/cases")
    # The department it went to sees only that: no county task list, no county task.
    zhou = Web(walker.app)
    zhou.login("zhou_sthj")
    assert reference not in zhou.text("/tasks")
    assert zhou.get(f"/tasks/{task_id}").status_code == 403
    # The county department does not decide for the prefecture.
    sthj = Web(walker.app)
    sthj.login("sthj")
    assert sthj.post(f"{page}/accept", {}, token_from="/tasks").status_code == 403
    assert table_counts(walker.app) == before
    # 大姚's own staff follow it.
    bureau = Web(walker.app)
    bureau.login("zhaoshang")
    assert "环境影响报告书审批" in bureau.text("/handups")


def test_a_terminated_case_leaves_nothing_to_decide_at_the_prefecture(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    from sqlalchemy import select

    from server.extensions import db
    from server.models import User
    from server.services.termination import decide_termination, propose_termination

    walker, task_id = prefecture_item_in_handling(make_app, frozen_clock)
    sthj = Web(walker.app)
    sthj.login("sthj")
    # A 州-level item is not referred by free text: it is handed up.
    before = table_counts(walker.app)
    sthj.post(f"/tasks/{task_id}/clock", {"action": "refer", "level": "prefecture",
                                          "reason": "报州"}, token_from=f"/tasks/{task_id}")
    assert "交州级部门审批" in sthj.text(f"/tasks/{task_id}")
    assert table_counts(walker.app) == before
    _, handup_id = _hand_up(walker, task_id)

    def user(name: str) -> User:
        return db.session.execute(select(User).where(User.username == name)).scalar_one()
    walker.run(lambda: propose_termination(user("guanjia"), walker.case_id,
                                           "enterprise_request", "企业决定不再投资"))
    walker.run(lambda: decide_termination(user("lingdao"), walker.case_id, approve=True,
                                          note=""))
    zhou = Web(walker.app)
    zhou.login("zhou_sthj")
    page = f"/handups/{handup_id}"
    assert "县级案件已结束，无需决定" in zhou.text(page)
    before = table_counts(walker.app)
    zhou.post(f"{page}/accept", {}, token_from=page)
    assert "ended" in zhou.text(page)
    assert table_counts(walker.app) == before


def test_the_api_hands_up_accepts_and_decides_with_the_same_rules(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    from tests.conftest import Api

    walker, task_id = prefecture_item_in_handling(make_app, frozen_clock)
    api = Api(walker.app, walker.app.test_client())
    assert api.post(f"/tasks/{task_id}/handup", "zhou_sthj",
                    json={"note": NOTE}).status_code == 403
    sent = api.post(f"/tasks/{task_id}/handup", "sthj", json={"note": NOTE})
    assert sent.status_code == 201 and sent.json["state"] == "sent"
    handup = sent.json["id"]
    assert [h["id"] for h in api.get("/handups", "zhou_sthj").json["items"]] == [handup]
    assert api.get("/handups", "zhou_yj").json["items"] == []
    assert api.get("/handups", "b_zhaoshang").json["items"] == []
    assert api.get(f"/handups/{handup}", "b_zhaoshang").status_code == 404
    assert api.post(f"/handups/{handup}/accept", "b_fgj").status_code == 404
    accepted = api.post(f"/handups/{handup}/accept", "zhou_sthj")
    assert accepted.status_code == 200 and accepted.json["due_at"]
    assert api.post(f"/handups/{handup}/decide", "zhou_sthj",
                    json={"decision": "refuse"}).status_code == 422
    decided = api.post(f"/handups/{handup}/decide", "zhou_sthj",
                       json={"decision": "refuse", "reason": "选址不符合生态保护红线"})
    assert decided.status_code == 200 and decided.json["state"] == "refused"
    assert _events(walker) == list(HANDUP_EVENTS)


def test_the_admin_page_lists_the_prefectures_departments_as_such(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    walker, _ = prefecture_item_in_handling(make_app, frozen_clock)
    admin = Web(walker.app)
    admin.login("admin")
    page = admin.text("/admin/groups", query_string={"edit": "pref_dept_sthj"})
    row = page.split("<code>pref_dept_sthj</code>")[1].split("</tr>")[0]
    assert "州生态环境局" in row and "州级部门" in row
    assert '<option value="prefecture" selected>' in page


def test_the_prefectures_clock_warns_alerts_and_urges_like_the_countys(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    """The due-date sweep lights an accepted hand-up on the prefecture's own 60-day clock:
    a warning to the prefecture department as it turns yellow, an alert to it and to the
    county department once red, one urging a working day overdue; each notice once."""
    walker, task_id = prefecture_item_in_handling(make_app, frozen_clock)
    _, handup_id = _hand_up(walker, task_id)
    page = f"/handups/{handup_id}"
    zhou, county = Web(walker.app), Web(walker.app)
    zhou.login("zhou_sthj")
    county.login("sthj")
    zhou.post(f"{page}/accept", {}, token_from=page)

    def sweep() -> dict[str, int]:
        with walker.app.app_context():
            found = timers.sweep_deadlines()
            db.session.remove()
        return found

    assert sweep()["handups_yellow"] == 0
    assert "到期预警" not in zhou.text("/inbox")
    frozen_clock.advance(timedelta(days=55))
    assert sweep()["handups_yellow"] == 1
    assert "到期预警：环境影响报告书审批" in zhou.text("/inbox")
    assert "到期预警：环境影响报告书审批" not in county.text("/inbox")
    frozen_clock.advance(timedelta(days=6))
    assert sweep()["handups_red"] == 1
    assert "超期警示：环境影响报告书审批" in zhou.text("/inbox")
    assert "超期警示：环境影响报告书审批" in county.text("/inbox")
    frozen_clock.advance(timedelta(days=3))
    sweep()
    assert re.search(r"催办：环境影响报告书审批已超期\d个工作日", zhou.text("/inbox"))
    assert sweep()["notices"] == 0  # nothing twice
