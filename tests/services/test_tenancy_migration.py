"""0022_tenancy on an installation that ran before counties were tenants: its users take the
default county, so they see exactly the cases they saw before (SQLite: the migration's
Python and SQL are the same on both databases; the isolation tests run on both)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from server import create_app
from tests.conftest import _settings


def test_upgrading_puts_every_user_in_the_default_county(tmp_path: Path) -> None:
    from flask_migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    app = create_app(_settings(url, tmp_path))
    with app.app_context():
        upgrade(revision="0021_dashboard_indexes")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO counties (code, name, prefecture, office_hours, light_share_percent, "
            "light_min_days, art32_mode, late_call_grace_minutes, publicity_cap_days, "
            "enterprise_reply_days, is_default, revision, updated_by, "
            "updated_at) VALUES ('dayao', '大姚县', '楚雄彝族自治州', '09:00-12:00', 20, 1, "
            "'restart', 30, 10, 5, 1, 1, 'x', '2026-01-01 00:00:00'), "
            "('yaoan', '姚安县', '楚雄彝族自治州', '09:00-12:00', 20, 1, 'restart', 30, 10, 5, "
            "0, 1, 'x', '2026-01-01 00:00:00')"))
        conn.execute(sa.text(
            "INSERT INTO users (username, display_name, password_hash, active, area, "
            "created_at) VALUES ('old_clerk', '老办事员', '', 1, '', "
            "'2026-01-01 00:00:00')"))
    with app.app_context():
        upgrade(revision="heads")
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT county FROM users WHERE username = 'old_clerk'")).scalar() == "dayao"
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("cases")}
        assert "ix_cases_county" in indexes
        unique = {tuple(u["column_names"]) for u in sa.inspect(conn).get_unique_constraints(
            "reports")}
        assert ("kind", "period", "county", "version") in unique
        assert ("kind", "period", "version") not in unique
    engine.dispose()
    with app.app_context():
        from server.extensions import db

        db.engine.dispose()
