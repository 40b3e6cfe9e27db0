"""协同代办员 (issue 13): co-agents named on the team are told when named, and hear of their
department's items turning yellow and red even when a colleague holds the item."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Group, User
from server.services.tasks import claim_task
from server.services.timers import sweep_deadlines
from tests.helpers.notices import inbox_of
from tests.scenarios.conftest import Walker


def _notices(walker: Walker, username: str) -> list[tuple[str, str]]:
    return walker.run(lambda: [(n.kind, n.title)  # type: ignore[no-any-return]
                               for n in inbox_of(username) if n.case_id == walker.case_id])


@pytest.fixture
def second_fgj_agent(walker: Walker) -> Iterator[str]:
    """A second agent of 发改局 (seeded users outlive a test on PostgreSQL: removed after)."""
    def add() -> None:
        group = db.session.execute(select(Group).where(Group.code == "dept_fgj")).scalar_one()
        db.session.add(User(username="fgj_xie", display_name="发改局 协同代办员",
                            groups=[group], active=True))
        db.session.commit()

    def remove() -> None:
        user = db.session.execute(select(User).where(User.username == "fgj_xie")
                                  ).scalar_one_or_none()
        if user is not None:
            db.session.delete(user)
            db.session.commit()
    walker.run(add)
    try:
        yield "fgj_xie"
    finally:
        walker.run(remove)


def test_a_named_co_agent_is_told_and_hears_of_the_departments_lights(
        walker: Walker, second_fgj_agent: str) -> None:
    walker.start(item_codes=["project_filing"])
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team", co_agent_usernames=[second_fgj_agent])
    [(kind, title)] = _notices(walker, second_fgj_agent)
    assert kind == "reassigned" and title.startswith("列为协同代办员")
    assert not any(t.startswith("列为协同代办员") for _, t in _notices(walker, "fgj"))

    walker.do("guanjia", "draft_service_plan")
    walker.do("qiye", "agree_service_plan")
    walker.do("zhaoshang", "hand_over_to_window")
    walker.do("zhuanchuang", "sign_entrustment_agreement")
    walker.do("zhuanchuang", "issue_one_time_notice")
    walker.do("zhuanchuang", "issue_task_sheets")
    walker.do("fgj", "take_task_sheet")
    walker.do("fgj", "review_item_materials")
    [handling] = walker.ready("handle_item")
    # fgj holds the item himself: before issue 13 nobody else of 发改局 heard of it.
    walker.run(lambda: claim_task(db.session.execute(
        select(User).where(User.username == "fgj")).scalar_one(), handling["id"]))
    due = handling["due_at"]

    walker.clock.set(due - timedelta(hours=2))
    walker.run(sweep_deadlines)
    lights = [k for k, _ in _notices(walker, second_fgj_agent) if k in {"warning", "overdue"}]
    assert lights == ["warning"]
    walker.clock.set(due + timedelta(hours=1))
    walker.run(sweep_deadlines)
    kinds = [k for k, _ in _notices(walker, second_fgj_agent)]
    assert kinds.count("warning") == 1 and kinds.count("overdue") == 1
