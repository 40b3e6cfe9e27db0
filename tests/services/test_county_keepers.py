"""A county's administrator keeps their own county's settings and local days off, not another
county's, not the installation's default, not the State Council's notice (issue 21); the
prefecture's administrator keeps them all. A refusal changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, CalendarDay, County, User
from server.services.calendar_changes import load_notice
from server.services.counties import DAYAO, save_county
from server.services.errors import PermissionDeniedError
from tests.conftest import table_counts
from tests.helpers.tenancy import A, B, make_counties


def user(name: str) -> User:
    found = db.session.execute(select(User).where(User.username == name)).scalar_one()
    return found  # type: ignore[no-any-return]


def settings(code: str, **changes: str) -> dict[str, str]:
    row = db.session.get(County, code)
    known = {"name": row.name, "is_default": "1" if row.is_default else ""} if row else {}
    return {**DAYAO, "code": code, "is_default": "", **known, **changes}


@pytest.fixture
def counties(app: Flask) -> Flask:
    make_counties(app)  # with zhou_admin, the prefecture's administrator
    return app


def test_a_county_administrator_changes_only_their_own_county(counties: Flask) -> None:
    with counties.app_context():
        save_county(user("b_admin"), settings(B, late_call_grace_minutes="20"))
        before = table_counts(counties)
        for attempt in (lambda: save_county(user("b_admin"), settings(A, publicity_cap_days="3")),
                        lambda: save_county(user("b_admin"), settings("newcounty", name="新县")),
                        lambda: save_county(user("b_admin"), settings(B, is_default="1"))):
            with pytest.raises(PermissionDeniedError):
                attempt()
            db.session.rollback()
        assert table_counts(counties) == before
        assert db.session.get(County, A).publicity_cap_days == 10  # type: ignore[union-attr]
        assert db.session.get(County, B).late_call_grace_minutes == 20  # type: ignore[union-attr]
        assert db.session.get(County, "newcounty") is None
        saved = [e.payload["county"] for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.type == "county_saved")).scalars()]
        assert saved == [B]


def test_the_prefecture_administrator_keeps_every_county(counties: Flask) -> None:
    with counties.app_context():
        save_county(user("zhou_admin"), settings(A, publicity_cap_days="3"))
        save_county(user("zhou_admin"), settings(B, late_call_grace_minutes="20"))
        assert db.session.get(County, A).publicity_cap_days == 3  # type: ignore[union-attr]
        assert db.session.get(County, B).late_call_grace_minutes == 20  # type: ignore[union-attr]


def test_local_days_off_only_for_the_own_county(counties: Flask) -> None:
    notice = "2026-11-25 holiday 姚安县测试假日"
    with counties.app_context():
        before = table_counts(counties)
        for county in (A, None):
            with pytest.raises(PermissionDeniedError):
                load_notice(user("b_admin"), notice, county=county)
            db.session.rollback()
        assert table_counts(counties) == before
        load_notice(user("b_admin"), notice, county=B)
        days = db.session.execute(select(CalendarDay.county, CalendarDay.name)).all()
        assert [(c, n) for c, n in days if n == "姚安县测试假日"] == [(B, "姚安县测试假日")]
