"""The archive (一事一档, seed 004 §五(十)) holds every record the case's path requires: the step
lists exactly what is missing and refuses; with the records, or a leader's recorded
exception, it archives."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.services.archive import record_exception
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from server.services.tasks import complete_task
from tests.conftest import table_counts
from tests.helpers.reexecution import assert_same
from tests.scenarios.conftest import FORM_DATA, Walker
from tests.web.helpers import Web

PATH_RECORDS = ["consultation", "application", "entrustment", "plan", "notice", "task_sheets",
                "handling", "closure", "delivery", "evaluation", "visits"]


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _to_archive(walker: Walker) -> str:
    walker.start()
    walker.accept()
    walker.hand_over()
    walker.work_open_items()
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    walker.do("qiye", "evaluate_service")
    walker.do("zhuanchuang", "return_visit")
    [task] = walker.ready("archive_case")
    return str(task["id"])


def _archive(walker: Walker, task_id: str, contents: list[str]) -> None:
    data: dict[str, Any] = {**FORM_DATA["archive"], "archive_contents": contents}
    walker.run(lambda: complete_task(_user("zhuanchuang"), task_id, data))


def test_the_archive_lists_exactly_what_is_missing_and_refuses(concierge_app: Flask,
                                                               walker: Walker) -> None:
    task_id = _to_archive(walker)
    before = table_counts(concierge_app)
    with pytest.raises(ValidationFailedError) as refused:
        _archive(walker, task_id, ["application", "handling", "meeting_minutes"])
    [message] = refused.value.errors["archive_contents"]
    assert message.startswith(
        "本案还缺：咨询记录、委托协议、服务方案、一次性告知书、任务分送单及回执、"
        "办结单或终止单、送达记录、满意度评价表（或企业未评价记录）、回访记录（")
    assert "联席会议纪要" not in message and "催办督办记录" not in message  # not on this path
    assert table_counts(concierge_app) == before
    _archive(walker, task_id, PATH_RECORDS)
    assert walker.case()["status"] == "completed"


def test_a_leader_excuses_a_missing_record_and_only_a_leader(concierge_app: Flask,
                                                             walker: Walker) -> None:
    task_id = _to_archive(walker)
    page = f"/cases/{walker.case_id}"
    action = f"{page}/archive-exception"
    without_consultation = [r for r in PATH_RECORDS if r != "consultation"]
    before = table_counts(concierge_app)
    for who in ("zhuanchuang", "guanjia", "qiye"):
        with pytest.raises(PermissionDeniedError):
            walker.run(lambda w=who: record_exception(_user(w), walker.case_id,
                                                      ["consultation"], "企业直接申请"))
    window = Web(concierge_app)
    window.login("zhuanchuang")
    assert action not in window.text(page)
    assert window.post(action, {"records": "consultation", "reason": "x"},
                       token_from=page).status_code == 403
    leader = Web(concierge_app)
    leader.login("lingdao")
    shown = leader.text(page)
    assert action in shown and "归档材料核对" in shown
    # A record this path does not require, or no reason: refused, nothing changed.
    refused = leader.post(action, {"records": "meeting_minutes", "reason": "无"}, token_from=page)
    assert refused.status_code == 422
    assert "本案不需要：联席会议纪要" in refused.get_data(as_text=True)
    assert leader.post(action, {"records": "consultation", "reason": ""},
                       token_from=page).status_code == 422
    assert table_counts(concierge_app) == before
    with pytest.raises(ValidationFailedError):
        _archive(walker, task_id, without_consultation)

    assert leader.post(action, {"records": "consultation", "reason": "企业直接网上申请，无咨询"},
                       token_from=page).status_code == 302
    [event] = walker.events("archive_exception_recorded")
    assert (event["actor"], event["payload"]["records"]) == ("lingdao", ["consultation"])
    assert "企业直接网上申请，无咨询" in leader.text(page)
    _archive(walker, task_id, without_consultation)
    assert walker.case()["status"] == "completed"
    assert_same(walker.app, walker.case_id)
    # The case is archived: no further exception.
    with pytest.raises(ConflictError):
        walker.run(lambda: record_exception(_user("lingdao"), walker.case_id,
                                            ["consultation"], "再次"))
