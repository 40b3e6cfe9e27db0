"""Rejection at intake and termination in the middle of parallel handling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from server.services.termination import decide_termination, propose_termination
from tests.scenarios.conftest import Walker


def _user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def propose(walker: Walker, username: str, detail: str = "企业调整投资计划",
            reason_code: str = "enterprise_request") -> None:
    walker.run(lambda: propose_termination(_user(username), walker.case_id, reason_code, detail))


def decide(walker: Walker, username: str, approve: bool = True, note: str = "") -> None:
    walker.run(lambda: decide_termination(_user(username), walker.case_id, approve=approve,
                                          note=note))


def test_bureau_rejects_at_intake_and_the_case_ends_rejected(walker: Walker) -> None:
    walker.start(item_codes=["project_filing", "land_pre_review"])
    walker.do("zhaoshang", "review_application", review_decision="reject",
              review_opinion="项目尚未签约")
    walker.reload()
    assert walker.ready_ids() == ["notify_rejection"]
    assert walker.case()["status"] == "running"
    walker.do("zhaoshang", "notify_rejection", rejection_reason="项目尚未签约")
    assert walker.case()["status"] == "rejected"
    assert not walker.ready() and walker.timers() == []
    assert [e["payload"] for e in walker.events("case_ended")] == [{"status": "rejected"}]


def test_out_of_scope_application_goes_straight_to_the_rejection_notice(walker: Walker) -> None:
    walker.start(investment_wan=3000)
    assert walker.ready_ids() == ["notify_rejection"]
    assert walker.data()["scope"]["in_scope"] is False
    walker.do("zhaoshang", "notify_rejection")
    assert walker.case()["status"] == "rejected"


def test_termination_during_parallel_handling_cancels_every_open_task(walker: Walker) -> None:
    # Three items none of which waits for another (temporary land use has no prerequisite).
    walker.start(item_codes=["project_filing", "temporary_land_use", "fire_design_review"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    walker.do("fgj", "review_item_materials")          # handling, with yellow/red timers
    walker.do("zrzy", "take_task_sheet")
    walker.do("zrzy", "review_item_materials", acceptance_mode="supplement")  # enterprise busy
    walker.reload()
    assert sorted(walker.ready_ids()) == ["handle_item", "supply_materials", "take_task_sheet"]
    assert {t["element_id"] for t in walker.timers()} == {
        "report_timeout", "item_due_warning", "item_overdue"}

    # Only the steward, the window or the case's own enterprise may propose; 004's reason
    # and a text are required; nothing changes meanwhile.
    for outsider in ("qiye_b", "fgj", "zhaoshang", "lingdao"):
        with pytest.raises(PermissionDeniedError):
            propose(walker, outsider)
    with pytest.raises(ValidationFailedError):
        propose(walker, "qiye", detail="  ")
    with pytest.raises(ValidationFailedError):
        propose(walker, "qiye", reason_code="bored")
    assert len(walker.ready()) == 3

    propose(walker, "qiye", detail="企业调整投资计划，主动申请终止")
    # A proposal stops nothing; a second waits for the first to be decided.
    assert len(walker.ready()) == 3
    with pytest.raises(ConflictError):
        propose(walker, "guanjia", reason_code="policy_change", detail="政策调整")
    # Only the responsible leader named on the team decides: not the proposer, not the
    # window, not the bureau's head.
    for other in ("qiye", "zhuanchuang", "guanjia", "juzhang"):
        with pytest.raises(PermissionDeniedError):
            decide(walker, other)
    assert len(walker.ready()) == 3 and walker.events("case_terminated") == []
    decide(walker, "lingdao", note="同意")
    walker.reload()
    # No open task of the service survives and no timer is left waiting.
    assert walker.ready_ids() == ["fill_termination_sheet"]
    assert walker.timers() == []
    states = {w["element_id"]: w["state"] for w in walker.work_items()
              if w["element_id"] in {"take_task_sheet", "handle_item", "supply_materials"}}
    assert states == {"take_task_sheet": "cancelled", "handle_item": "cancelled",
                      "supply_materials": "cancelled"}
    assert {w["state"] for w in walker.work_items()} <= {"completed", "cancelled", "ready"}
    terminated = walker.events("case_terminated")
    assert [(e["actor"], e["payload"]["reason"], e["payload"]["proposed_by"])
            for e in terminated] == [
        ("lingdao", "项目单位主动提出要求终止：企业调整投资计划，主动申请终止", "qiye")]
    [proposed] = walker.events("termination_proposed")
    assert (proposed["actor"], proposed["payload"]["reason_code"]) == ("qiye",
                                                                       "enterprise_request")
    assert len(walker.events("task_cancelled")) == 3
    with pytest.raises(ConflictError):
        propose(walker, "guanjia")  # the service is already stopped

    walker.do("guanjia", "fill_termination_sheet")
    request = walker.data()["termination_request"]
    assert (request["requested_by"], request["role"]) == ("qiye", "enterprise")
    walker.do("qiye", "sign_termination_sheet")
    # A bad rating (≤ 2) opens the window's call-back and rectification task.
    walker.do("qiye", "evaluate_service", satisfaction_level="2",
              evaluation_comment="终止前部门多次要求重复提交材料")
    [callback] = walker.ready("call_back_and_rectify")
    assert callback["groups"] == "window" and callback["due_at"] is not None
    walker.reload()
    walker.do("zhuanchuang", "call_back_and_rectify")
    walker.do("zhuanchuang", "return_visit")
    walker.do("zhuanchuang", "archive_case")
    assert walker.case()["status"] == "terminated"
    assert not walker.ready()
    assert {w["state"] for w in walker.work_items()} == {"completed", "cancelled"}
    assert [e["payload"] for e in walker.events("case_ended")] == [{"status": "terminated"}]


def test_termination_before_acceptance_is_refused(walker: Walker) -> None:
    walker.start()
    with pytest.raises(ConflictError):
        propose(walker, "zhuanchuang")
    assert walker.ready_ids() == ["review_application"]


def test_the_leader_declines_a_proposal_with_a_note_and_the_case_goes_on(walker: Walker) -> None:
    walker.start(item_codes=["project_filing"])
    walker.accept()
    walker.hand_over()
    before = walker.ready_ids()
    propose(walker, "guanjia", reason_code="policy_change", detail="产业政策调整，待核实")
    with pytest.raises(ValidationFailedError):
        decide(walker, "lingdao", approve=False, note=" ")     # a refusal says why
    decide(walker, "lingdao", approve=False, note="政策未最终调整，继续办理")
    assert walker.ready_ids() == before and walker.case()["status"] == "running"
    [decided] = walker.events("termination_decided")
    assert (decided["actor"], decided["payload"]["approved"]) == ("lingdao", False)

    def told() -> list[str]:
        from tests.helpers.notices import inbox_of
        return [n.title for n in inbox_of("guanjia")
                if n.case_id == walker.case_id and n.title.startswith("终止申请")]
    assert [t.split("：")[0] for t in walker.run(told)] == ["终止申请未同意"]
    # Nothing waits any more: the window may propose again, with the other reason.
    propose(walker, "zhuanchuang", reason_code="enterprise_request", detail="企业书面申请终止")
