"""No silent party blocks a case (issue 13): an enterprise that never signs the completion sheet
nor evaluates is reminded, then the window records 企业未签字 / 未评价 with a reason and the
case reaches the archive. The limit is the county's setting (enterprise_reply_days)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import County, User
from server.services.errors import ConflictError, NotFoundError, PermissionDeniedError
from server.services.tasks import complete_task
from server.services.timers import sweep_deadlines
from tests.helpers.notices import inbox_of
from tests.helpers.reexecution import assert_same
from tests.scenarios.conftest import FORM_DATA, Walker

CST = ZoneInfo("Asia/Shanghai")


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _try(walker: Walker, username: str, task_id: str, data: dict[str, Any]) -> None:
    walker.run(lambda: complete_task(_user(username), task_id, data))


def _notices(walker: Walker, username: str, kind: str) -> list[str]:
    return walker.run(lambda: [n.title for n in inbox_of(username)  # type: ignore[no-any-return]
                               if n.case_id == walker.case_id and n.kind == kind])


def _to_completion_sheet(walker: Walker) -> dict[str, Any]:
    walker.start()
    walker.accept()
    walker.hand_over()
    walker.work_open_items()
    walker.do("guanjia", "fill_completion_sheet")
    [sign] = walker.ready("sign_completion_sheet")
    return sign


def test_an_enterprise_that_never_signs_nor_evaluates_does_not_block_the_archive(
        walker: Walker) -> None:
    sign = _to_completion_sheet(walker)
    # The sheet to sign is the enterprise's new task: its own people are told, not 企业乙's.
    assert "新任务：企业签字确认办结（" in _notices(walker, "qiye", "new_task")[-1]
    assert _notices(walker, "qiye_b", "new_task") == []
    # The county's default limit: 5 working days from the sheet, and a timer at that instant.
    assert [t["element_id"] for t in walker.timers()] == ["completion_sign_lapsed"]
    assert walker.timers()[0]["due_at"] == sign["due_at"]
    assert sign["due_at"] == datetime(2026, 11, 30, 17, 30, tzinfo=CST)  # Mon + 5 working days
    walker.advance(days=1)
    walker.run(sweep_deadlines)
    assert _notices(walker, "qiye", "warning") == []       # green: no reminder yet
    walker.clock.set(sign["due_at"] - timedelta(days=1))    # one working day left: yellow
    walker.run(sweep_deadlines)
    [reminder] = _notices(walker, "qiye", "warning")       # 到期预警 to the enterprise itself
    assert "企业签字确认办结" in reminder
    assert _notices(walker, "qiye_b", "warning") == []

    fired = walker.advance(days=1, minutes=1)              # past the limit
    assert [t.element_id for t in fired] == ["completion_sign_lapsed"]
    assert walker.ready_ids() == ["record_completion_unsigned"]
    # The enterprise can no longer sign; only the window records the silence.
    with pytest.raises((ConflictError, NotFoundError, PermissionDeniedError)):
        _try(walker, "qiye", sign["id"], FORM_DATA["completion_sign"])
    [record] = walker.ready("record_completion_unsigned")
    for outsider in ("qiye", "guanjia", "lingdao"):
        with pytest.raises(PermissionDeniedError):
            _try(walker, outsider, record["id"], FORM_DATA["enterprise_silence"])
    walker.do("zhuanchuang", "record_completion_unsigned")
    assert walker.ready_ids() == ["evaluate_service"]
    [recorded] = [e for e in walker.events("task_completed")
                  if e["element_id"] == "record_completion_unsigned"]
    assert recorded["payload"]["new"]["silence_reason"] == "企业负责人出国，联系不上"

    # Nor does it evaluate: the same limit, then 企业未评价, then the return visit and archive.
    [evaluation] = walker.ready("evaluate_service")
    walker.clock.set(evaluation["due_at"])
    walker.advance(minutes=1)
    assert walker.ready_ids() == ["record_evaluation_missing"]
    walker.do("zhuanchuang", "record_evaluation_missing")
    walker.do("zhuanchuang", "return_visit")
    walker.do("zhuanchuang", "archive_case")
    assert walker.case()["status"] == "completed"
    # The lapses are timers of the history: the case verifies and re-executes on its path.
    result = assert_same(walker.app, walker.case_id)
    assert ("task_created", "record_evaluation_missing") in result.replayed


def test_the_limit_is_the_countys_setting(walker: Walker) -> None:
    def two_days() -> None:
        db.session.add(County(code="dayao", name="大姚县", prefecture="楚雄彝族自治州",
                              office_hours="09:00-12:00 14:30-18:00", is_default=True,
                              enterprise_reply_days=2))
        db.session.commit()
    walker.run(two_days)
    sign = _to_completion_sheet(walker)
    # The sheet opened Monday 23 Nov 2026 09:00; two working days: Wednesday at closing time.
    assert sign["due_at"] == datetime(2026, 11, 25, 18, 0, tzinfo=CST)
    assert walker.timers()[0]["due_at"] == sign["due_at"]


def test_an_enterprise_that_never_answers_the_plan_does_not_stop_the_hand_over(
        walker: Walker) -> None:
    walker.start()
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team")
    walker.do("guanjia", "draft_service_plan")
    [agree] = walker.ready("agree_service_plan")
    assert [t["element_id"] for t in walker.timers()] == ["plan_agreement_lapsed"]
    walker.clock.set(agree["due_at"])
    walker.advance(minutes=1)
    assert walker.ready_ids() == ["record_plan_unanswered"]
    [record] = walker.ready("record_plan_unanswered")
    with pytest.raises(PermissionDeniedError):
        _try(walker, "qiye", record["id"], FORM_DATA["enterprise_silence"])
    walker.do("zhuanchuang", "record_plan_unanswered")
    assert walker.ready_ids() == ["hand_over_to_window"]
