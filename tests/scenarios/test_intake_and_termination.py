"""Rejection at intake and termination in the middle of parallel handling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from server.services.termination import terminate_case
from tests.scenarios.conftest import Walker


def terminate(walker: Walker, username: str, reason: str = "企业调整投资计划") -> None:
    def go() -> None:
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        terminate_case(user, walker.case_id, reason)
    walker.run(go)


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

    # Only people of the case may stop it; a reason is required; nothing changes meanwhile.
    with pytest.raises(PermissionDeniedError):
        terminate(walker, "qiye_b")
    with pytest.raises(PermissionDeniedError):
        terminate(walker, "fgj")
    with pytest.raises(ValidationFailedError):
        terminate(walker, "qiye", reason="  ")
    assert len(walker.ready()) == 3

    terminate(walker, "qiye", reason="企业调整投资计划，主动申请终止")
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
    assert [(e["actor"], e["payload"]["reason"]) for e in terminated] == [
        ("qiye", "企业调整投资计划，主动申请终止")]
    assert len(walker.events("task_cancelled")) == 3
    with pytest.raises(ConflictError):
        terminate(walker, "guanjia")  # the service is already stopped

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
        terminate(walker, "zhaoshang")
    assert walker.ready_ids() == ["review_application"]
