"""Complaints (投诉举报, seed 004 六(二), seed 002): from the portal to the supervision office,
the department's part, the answer within the county's limit, the complainant's satisfaction;
another enterprise and other departments are refused with nothing changed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Complaint
from tests.conftest import table_counts
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web


def _complaint_id(response: Any) -> int:
    found = re.search(r"/complaints/(\d+)$", response.headers["Location"])
    assert found, response.headers.get("Location")
    return int(found.group(1))


def _signed_in(walker: Walker, username: str) -> Web:
    web = Web(walker.app)
    assert web.login(username).status_code == 302
    return web


def _complaint(walker: Walker, complaint_id: int) -> dict[str, Any]:
    def go() -> dict[str, Any]:
        c = db.session.get(Complaint, complaint_id)
        assert c is not None
        return {"status": c.status, "result": c.result, "due_at": c.due_at,
                "decided_at": c.decided_at, "satisfaction": c.satisfaction,
                "department_answer": c.department_answer, "case_id": c.case_id}
    return walker.run(go)  # type: ignore[no-any-return]


def test_a_portal_complaint_is_answered_by_the_office_in_time_and_rated(
        walker: Walker) -> None:
    case_id = walker.start()
    reference = walker.case()["reference"]
    qiye = _signed_in(walker, "qiye")

    # The portal's navigation leads to complaints, and the page says where and how to
    # complain: 004's telephones and the county's limit.
    assert 'href="/portal/complaints"' in qiye.text("/portal")
    page = qiye.text("/portal/complaints")
    assert "0878-6222018" in page and "0878-6222322" in page
    assert 'id="handling-days">15<' in page and "本县设置" in page

    # Incomplete: a located error, nothing written.
    before = table_counts(walker.app)
    bad = qiye.post("/portal/complaints", {"subject": "department", "content": ""},
                    token_from="/portal/complaints")
    assert bad.status_code == 422
    assert 'id="err-content"' in bad.get_data(as_text=True)
    assert 'id="err-department"' in bad.get_data(as_text=True)
    assert table_counts(walker.app) == before

    filed = qiye.post("/portal/complaints", {
        "subject": "department", "case": reference, "department": "dept_zjj",
        "content": "施工许可材料已交齐三天，窗口仍让重复提交。",
        "complainant_phone": "13800000000"}, token_from="/portal/complaints")
    assert filed.status_code == 302
    complaint_id = _complaint_id(filed)
    mine = qiye.text(f"/portal/complaints/{complaint_id}")
    assert "已受理" in mine and "督查室正在调查核实" in mine
    # Due 15 working days after Monday 23 Nov 2026 09:00: Monday 14 Dec, close of office.
    assert "2026-12-14" in mine

    # Another enterprise: 403 on every path, nothing changed.
    other = _signed_in(walker, "qiye_b")
    before = table_counts(walker.app)
    assert other.get(f"/portal/complaints/{complaint_id}").status_code == 403
    assert other.get(f"/supervision/complaints/{complaint_id}").status_code == 403
    assert other.post(f"/portal/complaints/{complaint_id}/rate", {"satisfaction": "dissatisfied"},
                      token_from="/portal/complaints").status_code == 403
    assert complaint_id not in _listed(other.text("/portal/complaints"))
    # …nor may it complain in the name of a case that is not its own.
    assert other.post("/portal/complaints", {"subject": "case", "case": reference,
                                             "content": "冒名投诉"},
                      token_from="/portal/complaints").status_code == 403
    assert table_counts(walker.app) == before

    # The department complained about sees nothing until the office asks it.
    zjj = _signed_in(walker, "zjj")
    assert zjj.get(f"/supervision/complaints/{complaint_id}").status_code == 403

    # The office sees it in its list with a green light (well within the limit).
    ducha = _signed_in(walker, "ducha")
    assert "新投诉待督查室办理" in ducha.text("/inbox")
    listing = ducha.text("/supervision/complaints")
    assert complaint_id in _listed(listing)
    assert 'data-light="green"' in listing
    # Only the office refers it to a department.
    before = table_counts(walker.app)
    assert qiye.post(f"/supervision/complaints/{complaint_id}/refer",
                     {"department": "dept_zjj", "question": "x"},
                     token_from="/portal/complaints").status_code == 403
    assert table_counts(walker.app) == before
    referred = ducha.post(f"/supervision/complaints/{complaint_id}/refer",
                          {"department": "dept_zjj", "question": "请说明为何要求重复提交材料"})
    assert referred.status_code == 302

    # The department: its part only (the question, the complaint), not who complained.
    assert "督查室请部门说明投诉情况" in zjj.text("/inbox")
    part = zjj.text(f"/supervision/complaints/{complaint_id}")
    assert "请说明为何要求重复提交材料" in part and "窗口仍让重复提交" in part
    assert "13800000000" not in part and "企业甲" not in part
    before = table_counts(walker.app)
    assert zjj.post(f"/supervision/complaints/{complaint_id}/decide",
                    {"investigation": "x", "result": "not_upheld",
                     "feedback": "x"}).status_code == 403
    scjg = _signed_in(walker, "scjg")
    assert scjg.get(f"/supervision/complaints/{complaint_id}").status_code == 403
    assert scjg.post(f"/supervision/complaints/{complaint_id}/department-answer",
                     {"department_answer": "x"}).status_code == 403
    assert table_counts(walker.app) == before
    assert zjj.post(f"/supervision/complaints/{complaint_id}/department-answer",
                    {"department_answer": "经办人误以为材料过期，已当面致歉并受理"}
                    ).status_code == 302
    assert ducha.post(f"/supervision/complaints/{complaint_id}/department-answer",
                      {"department_answer": "x"}).status_code == 403

    # Three working days later the office answers: within its limit.
    walker.clock.advance(timedelta(days=3))
    assert ducha.post(f"/supervision/complaints/{complaint_id}/decide",
                      {"investigation": "调阅窗口记录，核实情况属实", "result": "",
                       "feedback": ""}).status_code == 422
    assert _complaint(walker, complaint_id)["decided_at"] is None
    assert ducha.post(f"/supervision/complaints/{complaint_id}/decide", {
        "investigation": "调阅窗口记录，核实情况属实", "result": "upheld",
        "feedback": "投诉成立，已责成住建局整改并通报。"}).status_code == 302
    office_view = ducha.text(f"/supervision/complaints/{complaint_id}")
    assert "经办人误以为材料过期" in office_view and "按时答复" in office_view

    # The complainant sees the answer and rates it; the office may not rate for it.
    assert "投诉已答复" in qiye.text("/inbox")
    answer = qiye.text(f"/portal/complaints/{complaint_id}")
    assert "投诉成立，已责成住建局整改并通报。" in answer
    assert 'id="result">成立<' in answer and "按时答复" in answer
    assert ducha.post(f"/supervision/complaints/{complaint_id}/rate",
                      {"satisfaction": "satisfied"}).status_code == 403
    assert qiye.post(f"/portal/complaints/{complaint_id}/rate",
                     {"satisfaction": "satisfied"},
                     token_from="/portal/complaints").status_code == 302
    assert _complaint(walker, complaint_id)["status"] == "closed"
    assert "已评价办结" in qiye.text(f"/portal/complaints/{complaint_id}")

    # Each step is in the case's own audit chain.
    assert [e["type"] for e in walker.events() if e["type"].startswith("complaint_")] == [
        "complaint_filed", "complaint_referred", "complaint_department_answered",
        "complaint_answered", "complaint_rated"]
    actors = {e["type"]: e["actor"] for e in walker.events()}
    assert actors["complaint_filed"] == "qiye" and actors["complaint_answered"] == "ducha"
    assert case_id == _complaint(walker, complaint_id)["case_id"]


def _listed(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-complaint="(\d+)"', page)}


def test_phone_intake_goes_red_when_the_limit_passes_and_the_limit_is_a_county_setting(
        walker: Walker) -> None:
    # The office sets the county's limit (本县设置); only the office may.
    ducha = _signed_in(walker, "ducha")
    window = _signed_in(walker, "zhuanchuang")
    before = table_counts(walker.app)
    assert window.post("/supervision/settings", {"handling_days": "5", "phones": "x"}
                       ).status_code == 403
    assert ducha.post("/supervision/settings", {"handling_days": "0", "phones": "x"}
                      ).status_code == 422
    assert table_counts(walker.app) == before
    assert ducha.post("/supervision/settings", {"handling_days": "5",
                                                "phones": "县政务服务管理局 0878-6222018"}
                      ).status_code == 302

    # An enterprise may not use the intake page; the window records a telephone complaint.
    qiye = _signed_in(walker, "qiye")
    assert qiye.get("/supervision/complaints/new").status_code == 403
    assert qiye.get("/supervision/complaints").status_code == 403
    incomplete = window.post("/supervision/complaints/new", {
        "channel": "phone", "subject": "person", "content": "代办员态度生硬"},
        token_from="/supervision/complaints/new")
    assert incomplete.status_code == 422
    page = incomplete.get_data(as_text=True)
    assert 'id="err-complainant_name"' in page and 'id="err-person"' in page
    filed = window.post("/supervision/complaints/new", {
        "channel": "phone", "subject": "person", "person": "某代办员",
        "complainant_name": "王先生", "complainant_phone": "0878-6000000",
        "content": "代办员态度生硬"}, token_from="/supervision/complaints/new")
    assert filed.status_code == 302
    complaint_id = _complaint_id(filed)
    assert "5 个工作日" in ducha.text(f"/supervision/complaints/{complaint_id}")

    # Monday + 5 working days = next Monday; a week and a day later it is overdue: red.
    walker.clock.advance(timedelta(days=8))
    listing = ducha.text("/supervision/complaints")
    assert 'data-light="red"' in listing and "已超期" in listing
    # Answered late, and the office writes down the telephone complainant's satisfaction.
    assert ducha.post(f"/supervision/complaints/{complaint_id}/decide", {
        "investigation": "电话核实", "result": "not_upheld",
        "feedback": "经核实，代办员按规定告知，已向投诉人解释。"}).status_code == 302
    assert "逾期答复" in ducha.text(f"/supervision/complaints/{complaint_id}")
    # The clerk who took the call follows it and is told of the answer, but does not rate.
    assert "投诉已答复" in window.text("/inbox")
    assert "经核实，代办员按规定告知" in window.text(f"/supervision/complaints/{complaint_id}")
    assert window.post(f"/supervision/complaints/{complaint_id}/rate",
                       {"satisfaction": "satisfied"}).status_code == 403
    assert ducha.post(f"/supervision/complaints/{complaint_id}/rate",
                      {"satisfaction": "basically"}).status_code == 302
    assert _complaint(walker, complaint_id)["satisfaction"] == "basically"

    # No case: the events are in the log of no case, with the setting change before them.
    def types() -> list[str]:
        return list(db.session.execute(select(AuditEvent.type).where(
            AuditEvent.type.like("complaint%")).order_by(AuditEvent.seq)).scalars())
    assert walker.run(types) == ["complaint_setting_changed", "complaint_filed",
                                 "complaint_answered", "complaint_rated"]


def test_a_telephone_complaint_about_a_case_is_not_shown_to_its_enterprise(
        walker: Walker) -> None:
    walker.start()
    reference = walker.case()["reference"]
    window = _signed_in(walker, "zhuanchuang")
    filed = window.post("/supervision/complaints/new", {
        "channel": "phone", "subject": "case", "case": reference,
        "complainant_name": "邻近村民", "complainant_phone": "0878-6111111",
        "content": "项目夜间施工扰民"}, token_from="/supervision/complaints/new")
    assert filed.status_code == 302
    complaint_id = _complaint_id(filed)
    qiye = _signed_in(walker, "qiye")
    assert qiye.get(f"/portal/complaints/{complaint_id}").status_code == 403
    assert complaint_id not in _listed(qiye.text("/portal/complaints"))
    ducha = _signed_in(walker, "ducha")
    assert "邻近村民" in ducha.text(f"/supervision/complaints/{complaint_id}")
    assert [e["actor"] for e in walker.events("complaint_filed")] == ["zhuanchuang"]
