"""代企业办理 (issue 13): the window completes the enterprise's steps on its behalf only with
its confirmation — a signed paper or a one-time code from the portal — and the enterprise sees
every proxy action in its portal (代办记录)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Attachment, ProxyCode, User
from server.services import proxy
from server.services.attachments import Upload
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from tests.helpers.reexecution import assert_same
from tests.scenarios.conftest import FORM_DATA, Walker


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _issue(walker: Walker, username: str = "qiye") -> str:
    return walker.run(lambda: proxy.issue_code(_user(username), walker.case_id)[0])  # type: ignore[no-any-return]


def _proxy(walker: Walker, username: str, element_id: str, confirmation: proxy.Confirmation,
           **overrides: Any) -> None:
    [task] = walker.ready(element_id)

    def go() -> None:
        proxy.complete_on_behalf(_user(username), task["id"],
                                 {**FORM_DATA[task["form_key"]], **overrides}, confirmation)
    walker.run(go)


def _state(walker: Walker) -> tuple[list[str], int]:
    return walker.ready_ids(), len(walker.events())


def _to_plan_agreement(walker: Walker) -> None:
    walker.start()
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team")
    walker.do("guanjia", "draft_service_plan")
    assert walker.ready_ids() == ["agree_service_plan"]


def test_without_a_confirmation_the_proxy_step_is_refused_and_nothing_changes(
        walker: Walker) -> None:
    _to_plan_agreement(walker)
    before = _state(walker)
    with pytest.raises(ValidationFailedError) as no_kind:
        _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation(kind=""))
    assert "企业确认" in no_kind.value.errors["confirmation_kind"][0]
    with pytest.raises(ValidationFailedError) as no_code:
        _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation("code", "123456"))
    assert "没有有效的确认码" in no_code.value.errors["confirmation_code"][0]
    with pytest.raises(ValidationFailedError) as no_paper:
        _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation("paper"))
    assert "confirmation_file" in no_paper.value.errors
    assert _state(walker) == before
    assert walker.events(proxy.EVENT) == []


def test_the_window_agrees_the_plan_with_the_enterprises_one_time_code(walker: Walker) -> None:
    _to_plan_agreement(walker)
    code = _issue(walker)
    assert len(code) == 6 and code.isdigit()
    # Only a hash is kept.
    hashes = walker.run(lambda: [c.code_hash for c in db.session.execute(
        select(ProxyCode)).scalars()])
    assert code not in "".join(hashes)

    wrong = "000000" if code != "000000" else "111111"
    before = _state(walker)
    with pytest.raises(ValidationFailedError) as bad:
        _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation("code", wrong))
    assert "确认码不正确（还可尝试 4 次）" in bad.value.errors["confirmation_code"][0]
    assert walker.ready_ids() == before[0]

    _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation("code", code))
    assert walker.ready_ids() == ["hand_over_to_window"]
    [record] = walker.events(proxy.EVENT)
    assert record["actor"] == "zhuanchuang" and record["element_id"] == "agree_service_plan"
    assert record["payload"]["confirmation"]["kind"] == "code"
    assert record["payload"]["confirmation"]["issued_by"] == "qiye"
    assert record["payload"]["enterprise"]
    done = [w for w in walker.work_items() if w["element_id"] == "agree_service_plan"]
    assert done[0]["completed_by"] == "zhuanchuang"
    # Single use: the same code does not serve a second step.
    walker.do("zhaoshang", "hand_over_to_window")
    walker.do("zhuanchuang", "sign_entrustment_agreement")
    walker.do("zhuanchuang", "issue_one_time_notice")
    walker.do("zhuanchuang", "issue_task_sheets")
    walker.work_open_items()
    walker.do("guanjia", "fill_completion_sheet")
    with pytest.raises(ValidationFailedError):
        _proxy(walker, "zhuanchuang", "sign_completion_sheet", proxy.Confirmation("code", code))
    assert walker.ready_ids() == ["sign_completion_sheet"]
    # The audit log replays the proxied step like any other (same path, same data).
    assert_same(walker.app, walker.case_id)


def test_a_code_locks_after_five_wrong_tries_and_lapses_after_fifteen_minutes(
        walker: Walker) -> None:
    _to_plan_agreement(walker)
    code = _issue(walker)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(proxy.MAX_ATTEMPTS):
        with pytest.raises(ValidationFailedError):
            _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation("code", wrong))
    with pytest.raises(ValidationFailedError) as locked:
        _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation("code", code))
    assert "没有有效的确认码" in locked.value.errors["confirmation_code"][0]
    fresh = _issue(walker)
    walker.clock.advance(timedelta(minutes=proxy.CODE_MINUTES + 1))
    with pytest.raises(ValidationFailedError):
        _proxy(walker, "zhuanchuang", "agree_service_plan", proxy.Confirmation("code", fresh))
    assert walker.ready_ids() == ["agree_service_plan"]


def test_the_window_signs_the_completion_sheet_with_the_enterprises_signed_paper(
        walker: Walker) -> None:
    _to_plan_agreement(walker)
    walker.do("qiye", "agree_service_plan")
    walker.do("zhaoshang", "hand_over_to_window")
    walker.do("zhuanchuang", "sign_entrustment_agreement")
    walker.do("zhuanchuang", "issue_one_time_notice")
    walker.do("zhuanchuang", "issue_task_sheets")
    walker.work_open_items()
    walker.do("guanjia", "fill_completion_sheet")
    paper = proxy.Confirmation("paper", upload=Upload("企业签字确认书.pdf", "application/pdf",
                                                      io.BytesIO(b"%PDF-1.4 signed")))
    _proxy(walker, "zhuanchuang", "sign_completion_sheet", paper)
    assert walker.ready_ids() == ["evaluate_service"]
    [record] = walker.events(proxy.EVENT)
    assert record["payload"]["confirmation"]["filename"] == "企业签字确认书.pdf"
    files = walker.run(lambda: [(a.filename, a.uploaded_by) for a in db.session.execute(
        select(Attachment).where(Attachment.case_id == walker.case_id)).scalars()])
    assert files == [("企业签字确认书.pdf", "zhuanchuang")]


def test_who_may_act_for_the_enterprise_and_who_may_issue_its_code(walker: Walker) -> None:
    _to_plan_agreement(walker)
    # Another enterprise, a staff member, or the window itself cannot issue the code.
    for outsider in ("qiye_b", "zhuanchuang"):
        with pytest.raises(PermissionDeniedError):
            _issue(walker, outsider)
    code = _issue(walker)
    before = _state(walker)
    # The steward, a department agent and the enterprise's neighbour may not act for it.
    for stranger in ("guanjia", "fgj", "qiye_b"):
        with pytest.raises(PermissionDeniedError):
            _proxy(walker, stranger, "agree_service_plan", proxy.Confirmation("code", code))
    assert _state(walker) == before
    # The bureau may (it brought the project); a staff step cannot be done "for the enterprise".
    _proxy(walker, "zhaoshang", "agree_service_plan", proxy.Confirmation("code", code))
    [step] = walker.ready("hand_over_to_window")
    again = _issue(walker)
    with pytest.raises(ConflictError):
        walker.run(lambda: proxy.complete_on_behalf(
            _user("zhuanchuang"), step["id"], FORM_DATA["hand_over"],
            proxy.Confirmation("code", again)))
