"""The API's principal: a token checked a moment ago costs no query, and a change to the user
or the token takes effect on the very next call, also when another process made it
(issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Group, User
from server.services import users
from server.services.users import PrincipalRevision, end_sessions, principal_revision
from tests.helpers.statements import statements

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_committed_change_to_a_user_moves_the_revision_every_process_reads(api: Any) -> None:
    with api.app.app_context():
        before = principal_revision().current()
        user = db.session.execute(select(User).where(User.username == "zjj")).scalar_one()
        user.display_name = "住建局 新帮办员"
        db.session.rollback()  # nothing committed: the revision stays
        assert principal_revision().current() == before
        user = db.session.execute(select(User).where(User.username == "zjj")).scalar_one()
        end_sessions(user)
        db.session.commit()
        assert principal_revision().current() == before + 1


@pytest.mark.real_commits
def test_a_password_set_by_another_process_ends_the_token_on_the_next_call(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The snapshot would be trusted for an hour: only the shared revision can end it.
    monkeypatch.setattr(users, "PRINCIPAL_SECONDS", 3600.0)
    assert api.get("/tasks", "fgj").status_code == 200
    assert api.get("/tasks", "fgj").status_code == 200  # from this process's snapshot now
    settings = api.app.config["GUANJIA"]
    env = {**os.environ, "GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": settings.database_url,
           "GUANJIA_INSTANCE_DIR": str(settings.instance_dir),
           "GUANJIA_SECRET_KEY": settings.secret_key, "GUANJIA_PASSWORD_HASH": "light",
           "GUANJIA_PROCESSES_DIR": str(settings.processes_dir),
           "GUANJIA_FORMS_DIR": str(settings.forms_dir)}
    done = subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", "set-password", "fgj",
         "--password", "Another-Process-42!"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    refused = api.get("/tasks", "fgj")
    assert refused.status_code == 401


def test_without_a_usable_revision_file_every_call_looks_its_token_up(api: Any) -> None:
    api.app.extensions["guanjia.principals"] = PrincipalRevision(
        Path("/proc/no-such-folder/principals.rev"))  # nothing can be created there
    assert api.get("/tasks", "zhaoshang").status_code == 200
    with statements(api.app) as seen:
        again = api.get("/tasks", "zhaoshang")
    assert again.status_code == 200
    assert [s for s in seen if "api_tokens" in s]
