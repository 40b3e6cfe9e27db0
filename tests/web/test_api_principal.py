"""The API's principal: a token checked a moment ago costs no query, and a change to the user
or the token takes effect on the very next call (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from server.extensions import db
from server.models import Group, User
from server.services.users import end_sessions


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.lower())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_token_checked_a_moment_ago_is_not_looked_up_again(api: Any) -> None:
    assert api.get("/processes", "zhaoshang").status_code == 200
    with statements(api.app) as seen:
        again = api.get("/tasks", "zhaoshang")
    assert again.status_code == 200
    assert not [s for s in seen if "api_tokens" in s]
    assert not [s for s in seen if "from users" in s]


def test_a_new_group_counts_on_the_next_call(api: Any) -> None:
    deploy = {"files": {}, "comment": ""}
    assert api.post("/deployments", "zhaoshang", json=deploy).status_code == 403
    with api.app.app_context():
        user = db.session.execute(select(User).where(User.username == "zhaoshang")).scalar_one()
        before = [g.code for g in user.groups]
        user.groups = [*user.groups, db.session.get(Group, "designer")]
        db.session.commit()
    try:
        # A designer now: past the permission check, refused for the empty upload instead.
        assert api.post("/deployments", "zhaoshang", json=deploy).status_code == 422
    finally:
        with api.app.app_context():
            user = db.session.execute(
                select(User).where(User.username == "zhaoshang")).scalar_one()
            user.groups = [db.session.get(Group, code) for code in before]
            db.session.commit()
    assert api.post("/deployments", "zhaoshang", json=deploy).status_code == 403


def test_ended_tokens_are_refused_on_the_next_call(api: Any) -> None:
    assert api.get("/tasks", "fgj").status_code == 200
    with api.app.app_context():
        user = db.session.execute(select(User).where(User.username == "fgj")).scalar_one()
        end_sessions(user)
        db.session.commit()
    refused = api.get("/tasks", "fgj")
    assert refused.status_code == 401


def test_an_expired_token_is_refused_though_checked_a_moment_ago(api: Any,
                                                                  frozen_clock: Any) -> None:
    assert api.get("/tasks", "zjj").status_code == 200
    frozen_clock.advance(timedelta(hours=api.app.config["GUANJIA"].token_ttl_hours, minutes=1))
    expired = api.get("/tasks", "zjj")
    assert expired.status_code == 401
    assert "expired" in expired.json["detail"]
