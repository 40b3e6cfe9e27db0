"""Someone answers for every step (issue 13): the team names a steward and a leader who get
the case's steward and supervision tasks and its overdue alerts personally; acceptance is the
bureau head's; 转办 refuses a no-op; a team change is a recorded decision."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import CaseTeam, User, WorkItem
from server.services.errors import (
    ConflictError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.tasks import complete_task, eligible_assignees, reassign_task
from server.services.teams import change_team
from server.services.timers import sweep_deadlines
from tests.helpers.notices import inbox_of, told
from tests.helpers.reexecution import assert_same
from tests.scenarios.conftest import FORM_DATA, Walker


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _assignees(walker: Walker, element_id: str) -> list[str | None]:
    def go() -> list[str | None]:
        return list(db.session.execute(select(WorkItem.assignee).where(
            WorkItem.case_id == walker.case_id, WorkItem.element_id == element_id,
            WorkItem.state == "ready")).scalars())
    return walker.run(go)  # type: ignore[no-any-return]


def _try(walker: Walker, username: str, element_id: str, **data: Any) -> None:
    def go() -> None:
        [item] = walker._ready(element_id)
        complete_task(_user(username), item["id"], {**FORM_DATA[item["form_key"]], **data})
    walker.run(go)


def _to_team(walker: Walker, **start: Any) -> None:
    walker.start(**start)
    walker.accept()


def test_named_steward_alone_completes_steward_tasks_until_reassigned(walker: Walker) -> None:
    _to_team(walker)
    walker.do("zhuanchuang", "form_steward_team")
    assert _assignees(walker, "draft_service_plan") == ["guanjia"]
    # Another steward sees the case but may not take A's task.
    with pytest.raises(PermissionDeniedError):
        _try(walker, "guanjia2", "draft_service_plan")
    assert walker.ready_ids() == ["draft_service_plan"]
    data = walker.data()
    assert (data["steward_name"], data["responsible_leader"]) == ("管家", "领导")

    def hand(to: str | None) -> None:
        [item] = walker._ready("draft_service_plan")
        reassign_task(_user("lingdao"), item["id"], to_username=to, reason="A 出差")
    # 转办 offers every steward; handing it to its holder changes nothing and is refused.
    [item] = walker.ready("draft_service_plan")
    names = walker.run(lambda: eligible_assignees(db.session.get(WorkItem, item["id"])))
    assert set(names) == {"guanjia", "guanjia2"}
    with pytest.raises(ValidationFailedError) as refused:
        walker.run(hand, "guanjia")
    assert "to" in refused.value.errors
    assert len(walker.events("task_reassigned")) == 0
    walker.run(hand, "guanjia2")
    with pytest.raises(PermissionDeniedError):
        _try(walker, "guanjia", "draft_service_plan")
    walker.do("guanjia2", "draft_service_plan")
    assert [e["actor"] for e in walker.events("task_completed")
            if e["element_id"] == "draft_service_plan"] == ["guanjia2"]


def test_team_form_refuses_people_outside_their_groups(walker: Walker) -> None:
    _to_team(walker)
    before = len(walker.events())
    with pytest.raises(ValidationFailedError) as refused:
        _try(walker, "zhuanchuang", "form_steward_team", steward_username="lingdao",
             leader_username="guanjia", co_agent_usernames=["zjj", "nobody"])
    assert set(refused.value.errors) == {"steward_username", "leader_username",
                                         "co_agent_usernames"}
    assert "zjj" in refused.value.errors["co_agent_usernames"][0]
    # Nothing changed: the task is open, no team, no event.
    assert walker.ready_ids() == ["form_steward_team"]
    assert len(walker.events()) == before
    assert walker.run(lambda: db.session.get(CaseTeam, walker.case_id)) is None
    # A co-agent of a department that owns one of the case's items (project_filing: 发改局).
    walker.do("zhuanchuang", "form_steward_team", co_agent_usernames=["fgj"])
    team = walker.run(lambda: db.session.get(CaseTeam, walker.case_id).co_agent_names)
    assert team == ["fgj"]


def test_acceptance_is_signed_by_the_bureau_head_only(walker: Walker) -> None:
    walker.start()
    walker.do("zhaoshang", "review_application")
    [sign] = walker.ready("sign_acceptance")
    assert sign["groups"] == "bureau_head"
    with pytest.raises(PermissionDeniedError):
        _try(walker, "lingdao", "sign_acceptance")
    walker.do("juzhang", "sign_acceptance")
    assert walker.ready_ids() == ["form_steward_team"]


def test_red_item_tells_the_named_steward_and_leader_and_leader_supervises(
        walker: Walker) -> None:
    walker.start(item_codes=["fire_acceptance_filing"])
    walker.accept()
    walker.hand_over()
    walker.do("zjj", "take_task_sheet")
    walker.do("zjj", "review_item_materials")      # 3 working days: due Thursday 17:30
    walker.advance(days=2, hours=9)                # Wednesday 18:00: warning
    walker.do("guanjia", "remind_item_due")
    walker.advance(days=1, hours=15)               # Friday 09:00: overdue
    walker.run(sweep_deadlines)

    def overdue_to() -> set[str]:
        return told(lambda n: n.case_id == walker.case_id and n.kind == "overdue")
    reached = walker.run(overdue_to)
    assert {"guanjia", "lingdao"} <= reached
    assert "guanjia2" not in reached and "lingdao2" not in reached
    assert _assignees(walker, "urge_overdue_item") == ["guanjia"]
    walker.do("guanjia", "urge_overdue_item")
    assert _assignees(walker, "supervise_overdue_item") == ["lingdao"]
    with pytest.raises(PermissionDeniedError):
        _try(walker, "lingdao2", "supervise_overdue_item")
    walker.do("lingdao", "supervise_overdue_item")


def test_team_change_is_a_recorded_decision_of_a_leader_or_the_window(walker: Walker) -> None:
    _to_team(walker)
    walker.do("zhuanchuang", "form_steward_team")

    def change(who: str, **kw: Any) -> Any:
        args = {"steward": "guanjia2", "leader": "lingdao2", "co_agents": [],
                "reason": "原管家调岗", **kw}
        return change_team(_user(who), walker.case_id, **args)
    # A steward or an enterprise may not change the team: 403, nothing changed.
    for who in ("guanjia", "qiye"):
        with pytest.raises(PermissionDeniedError):
            walker.run(lambda w=who: change(w))
    assert walker.events("team_changed") == []
    with pytest.raises(ValidationFailedError):
        walker.run(lambda: change("lingdao", reason=" "))
    with pytest.raises(ValidationFailedError):
        walker.run(lambda: change("lingdao", steward="zjj"))
    with pytest.raises(ValidationFailedError):       # the same team: a no-op
        walker.run(lambda: change("lingdao", steward="guanjia", leader="lingdao"))
    assert walker.events("team_changed") == []
    assert _assignees(walker, "draft_service_plan") == ["guanjia"]

    walker.run(lambda: change("zhuanchuang"))
    [event] = walker.events("team_changed")
    assert event["actor"] == "zhuanchuang"
    assert event["payload"]["from"]["steward"] == "guanjia"
    assert event["payload"]["to"] == {"steward": "guanjia2", "leader": "lingdao2",
                                      "co_agents": []}
    assert event["payload"]["reason"] == "原管家调岗"
    # The open steward task moved with the team; the new steward is told.
    assert _assignees(walker, "draft_service_plan") == ["guanjia2"]
    notes = walker.run(lambda: len([n for n in inbox_of("guanjia2")
                                    if n.case_id == walker.case_id]))
    assert notes >= 1
    walker.do("guanjia2", "draft_service_plan")
    # A team change is a decision beside the process: the case still re-executes as recorded.
    assert_same(walker.app, walker.case_id)


def test_team_change_before_the_team_or_after_the_end_is_refused(walker: Walker) -> None:
    _to_team(walker)
    with pytest.raises(ConflictError):
        walker.run(lambda: change_team(_user("lingdao"), walker.case_id, steward="guanjia",
                                       leader="lingdao", co_agents=[], reason="x"))
