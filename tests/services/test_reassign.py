"""Reassigning an open task (转办): leaders and administrators hand it to a member of its
groups or back to the groups; the case history says who, to whom and why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD, Api, table_counts
from tests.helpers.api_cases import only_task, start

SECOND_FGJ = "fgj_b"


@pytest.fixture
def colleague(app: Flask) -> Iterator[str]:
    """A second member of dept_fgj (users outlive a test on PostgreSQL, so it is removed)."""
    from server.extensions import db
    from server.models import User
    from server.services.users import ensure_user

    with app.app_context():
        ensure_user(SECOND_FGJ, "发改局乙", PASSWORD, ["dept_fgj"])
        db.session.commit()
        db.session.remove()
    yield SECOND_FGJ
    with app.app_context():
        db.session.execute(db.delete(User).where(User.username == SECOND_FGJ))
        db.session.commit()
        db.session.remove()


def department_sheet(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A started, accepted case and dept_fgj's open task sheet."""
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    done = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}})
    assert done.status_code == 200, done.json
    return case, only_task(api, "fgj", "take_sheet")


def reassign(api: Api, task_id: str, user: str, to: str | None, reason: str = "人员调整") -> Any:
    return api.post(f"/tasks/{task_id}/reassign", user, json={"to": to, "reason": reason})


def notices(app: Flask, username: str) -> list[tuple[str, str | None]]:
    from server.extensions import db
    from tests.helpers.notices import inbox_of

    with app.app_context():
        rows = [(n.kind, n.task_id) for n in inbox_of(username)]
        db.session.remove()
        return rows


def test_a_leader_hands_a_department_task_to_one_member(api: Api, colleague: str) -> None:
    case, sheet = department_sheet(api)
    assert [t["id"] for t in api.tasks(colleague, scope="groups")] == [sheet["id"]]

    response = reassign(api, sheet["id"], "lingdao", colleague, "甲休假，由乙接办")
    assert response.status_code == 200, response.json
    assert response.json["assignee"] == colleague and response.json["claimed_by"] == colleague

    assert [t["id"] for t in api.tasks(colleague, scope="mine")] == [sheet["id"]]
    assert api.tasks("fgj", scope="groups") == api.tasks("fgj", scope="mine") == []
    assert ("reassigned", sheet["id"]) in notices(api.app, colleague)
    refused = api.post(f"/tasks/{sheet['id']}/complete", "fgj",
                       json={"data": {"receiver": "fgj"}})
    assert refused.status_code == 403
    done = api.post(f"/tasks/{sheet['id']}/complete", colleague,
                    json={"data": {"receiver": colleague}})
    assert done.status_code == 200, done.json
    assert done.json["completed_by"] == colleague

    history = api.get(f"/cases/{case['id']}", "lingdao").json["history"]
    (event,) = [e for e in history if e["type"] == "task_reassigned"]
    assert (event["actor"], event["role"], event["task_id"]) == ("lingdao", "leader",
                                                                 sheet["id"])
    assert event["payload"] == {"from": None, "to": colleague, "reason": "甲休假，由乙接办"}


def test_an_administrator_returns_a_task_to_its_groups(api: Api, colleague: str) -> None:
    case, sheet = department_sheet(api)
    assert reassign(api, sheet["id"], "admin", colleague).status_code == 200
    back = reassign(api, sheet["id"], "admin", None, "退回部门统一安排")
    assert back.status_code == 200, back.json
    assert back.json["assignee"] is None and back.json["claimed_by"] is None

    assert [t["id"] for t in api.tasks("fgj", scope="groups")] == [sheet["id"]]
    assert api.tasks(colleague, scope="mine") == []
    done = api.post(f"/tasks/{sheet['id']}/complete", "fgj", json={"data": {"receiver": "fgj"}})
    assert done.status_code == 200, done.json
    history = api.get(f"/cases/{case['id']}", "admin").json["history"]
    assert [(e["payload"]["from"], e["payload"]["to"], e["role"]) for e in history
            if e["type"] == "task_reassigned"] == [(None, colleague, "admin"),
                                                   (colleague, None, "admin")]


def test_a_claimed_task_moves_from_its_claimant(api: Api, colleague: str) -> None:
    _, sheet = department_sheet(api)
    assert api.post(f"/tasks/{sheet['id']}/claim", "fgj").status_code == 200
    assert reassign(api, sheet["id"], "lingdao", colleague).status_code == 200
    assert api.tasks("fgj", scope="mine") == []
    assert api.post(f"/tasks/{sheet['id']}/release", "fgj").status_code == 403


@pytest.mark.parametrize("user", ["fgj", "zhaoshang", "juzhang", "qiye"])
def test_only_leaders_and_administrators_reassign(api: Api, colleague: str, user: str) -> None:
    _, sheet = department_sheet(api)
    api.token(user)  # signing in writes a token row; the refusal must write nothing
    before = table_counts(api.app)
    response = reassign(api, sheet["id"], user, colleague)
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert table_counts(api.app) == before


@pytest.mark.parametrize(("to", "reason", "field"), [
    ("zrzy", "转给自然资源局", "to"),  # not in the task's groups
    ("qiye", "转给企业", "to"),
    ("nobody", "不存在的人", "to"),
    ("fgj", "   ", "reason"),
    ("fgj", "", "reason"),
])
def test_an_ineligible_person_or_no_reason_changes_nothing(
        api: Api, to: str, reason: str, field: str) -> None:
    _, sheet = department_sheet(api)
    api.token("lingdao")
    before = table_counts(api.app)
    response = reassign(api, sheet["id"], "lingdao", to, reason)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert table_counts(api.app) == before  # no event, no notice, the task as it was


def test_a_task_that_is_no_longer_open_cannot_be_reassigned(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    api.token("lingdao")
    before = table_counts(api.app)
    response = reassign(api, review["id"], "lingdao", "zhaoshang")
    assert response.status_code == 409
    assert table_counts(api.app) == before
    assert reassign(api, "no-such-task", "lingdao", None).status_code == 404
    assert table_counts(api.app) == before


def test_the_api_description_lists_reassignment(api: Api) -> None:
    spec = api.get("/openapi.json", None).json
    operation = spec["paths"]["/tasks/{task_id}/reassign"]["post"]
    assert {"403", "404", "409", "422"} <= set(operation["responses"])
    assert "ReassignTaskRequest" in spec["components"]["schemas"]
