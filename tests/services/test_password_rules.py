"""Every path that sets a password applies the rules: admin create/reset, own change, CLI."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from tests.helpers.cli import point_cli_at
from tests.web.helpers import Web


def _fresh_user(app: Flask) -> tuple[int, str]:
    """A user of its own: on PostgreSQL the seeded users outlive the test."""
    from server.extensions import db
    from server.services.users import ensure_user

    with app.app_context():
        user = ensure_user(f"u{uuid.uuid4().hex[:10]}", "临时用户", PASSWORD, ["dept_fgj"])
        db.session.commit()
        found = (user.id, user.username)
        db.session.remove()
    return found


def _user_count(app: Flask) -> int:
    from server.extensions import db
    from server.models import User

    with app.app_context():
        return int(db.session.execute(select(func.count(User.id))).scalar_one())


def _events(app: Flask, kind: str) -> list[dict[str, Any]]:
    from server.extensions import db
    from server.models import AuditEvent

    with app.app_context():
        return [e.payload for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.type == kind).order_by(AuditEvent.seq)
        ).scalars()]


def test_an_administrator_cannot_create_a_user_with_a_weak_password(app: Flask) -> None:
    admin = Web(app)
    assert admin.login("admin").status_code == 302
    before = _user_count(app)
    name = f"n{uuid.uuid4().hex[:8]}"
    for weak, says in (("abcdefghij", "至少三类"), ("Ab1-", "至少8位"),
                       (f"{name.upper()}1", "用户名")):
        page = admin.post("/admin/users/new", {
            "username": name, "display_name": "新人", "password": weak,
            "groups": ["dept_lc"], "active": "on"}, token_from="/admin/users/new")
        assert page.status_code == 422
        text = page.get_data(as_text=True)
        assert says in text or says in text.replace("&#39;", "'"), (weak, text[-2000:])
    assert _user_count(app) == before
    assert _events(app, "password_changed") == []


def test_an_administrator_reset_cannot_repeat_a_recent_password_and_is_audited(
        app: Flask) -> None:
    user_id, name = _fresh_user(app)
    admin, user = Web(app), Web(app)
    assert admin.login("admin").status_code == 302

    def reset(password: str) -> Any:
        return admin.post(f"/admin/users/{user_id}", {
            "username": name, "display_name": "临时用户", "password": password,
            "groups": ["dept_fgj"], "area": "", "active": "on"}, token_from="/admin/users")

    assert reset("First-pass-1").status_code == 302
    again = reset("First-pass-1")  # the one in use
    assert again.status_code == 422 and "最近 5 次" in again.get_data(as_text=True)
    assert reset("Second-pass-1").status_code == 302
    assert reset("Third-pass-1").status_code == 302
    assert reset("Second-pass-1").status_code == 422  # one of the last five
    assert user.login(name, "Third-pass-1").status_code == 302
    changed = [e for e in _events(app, "password_changed") if e["username"] == name]
    assert [e["by"] for e in changed] == ["admin", "admin", "admin"]


def test_a_user_changes_their_own_password_under_the_rules(app: Flask) -> None:
    _user_id, name = _fresh_user(app)
    me, other_device = Web(app), Web(app)
    assert me.login(name).status_code == 302
    assert other_device.login(name).status_code == 302
    page = me.text("/account/password")
    assert "修改密码" in page and "至少8位" in page and "本安装设置" in page

    def change(current: str, new: str, again: str | None = None) -> Any:
        return me.post("/account/password", {
            "current_password": current, "new_password": new,
            "new_password_again": new if again is None else again},
            token_from="/account/password")

    wrong = change("not-my-password", "Brand-new-1")
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    weak = change(PASSWORD, "password")
    assert weak.status_code == 422 and "至少三类" in weak.get_data(as_text=True)
    differ = change(PASSWORD, "Brand-new-1", "Brand-new-2")
    assert differ.status_code == 422
    assert Web(app).login(name, "Brand-new-1").status_code == 401  # nothing changed yet

    done = change(PASSWORD, "Brand-new-1")
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert other_device.get("/tasks").status_code == 302  # every session ended
    assert me.login(name, PASSWORD).status_code == 401
    assert me.login(name, "Brand-new-1").status_code == 302
    same = change("Brand-new-1", "Brand-new-1")
    assert same.status_code == 422 and "最近 5 次" in same.get_data(as_text=True)
    changed = [e for e in _events(app, "password_changed") if e["username"] == name]
    assert [e["by"] for e in changed] == ["self"]


def test_signing_out_users_cannot_reach_the_password_page(app: Flask) -> None:
    assert Web(app).get("/account/password").status_code == 302


def test_the_command_line_sets_passwords_under_the_rules(
        app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from server.cli import main

    _user_id, name = _fresh_user(app)
    point_cli_at(app, tmp_path, monkeypatch)
    runner = CliRunner()
    weak = runner.invoke(main, ["set-password", name, "--password", "abcdefghij"])
    assert weak.exit_code != 0 and "至少三类" in weak.output
    unknown = runner.invoke(main, ["set-password", "no_such_user_x", "--password",
                                   "Strong-pass-1"])
    assert unknown.exit_code != 0 and "no user" in unknown.output
    done = runner.invoke(main, ["set-password", name, "--password", "Strong-pass-1"])
    assert done.exit_code == 0, done.output
    assert Web(app).login(name, "Strong-pass-1").status_code == 302
    # The first administrator of a production installation is made the same way.
    first = f"a{uuid.uuid4().hex[:8]}"
    weak_admin = runner.invoke(main, ["set-password", first, "--create-admin",
                                      "--password", "adminadmin"])
    assert weak_admin.exit_code != 0 and "至少三类" in weak_admin.output
    assert Web(app).login(first, "adminadmin").status_code == 401  # nobody was made
    made = runner.invoke(main, ["set-password", first, "--create-admin", "--password",
                                "Admin-pass-2026"])
    assert made.exit_code == 0, made.output
    admin = Web(app)
    assert admin.login(first, "Admin-pass-2026").status_code == 302
    assert admin.get("/admin/users").status_code == 200
