"""A county's own item catalog (issue 21): 大姚 uploads a catalog that drops an item and
shortens another's promised days; 大姚's new cases and plans follow it, 姚安's do not; a bad
CSV changes nothing and names its line; 姚安's administrator cannot touch 大姚's catalog."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import CountyCatalog
from server.services import catalog as catalogs
from server.services.users import ensure_user
from tests.conftest import PASSWORD, table_counts
from tests.helpers.county_catalog import (
    DROPPED,
    SHIPPED,
    SHORTER,
    catalog_events,
    dayao_csv,
    row_of,
    upload,
)
from tests.helpers.tenancy import A, B, make_counties
from tests.web.helpers import Web


@pytest.fixture
def counties(app: Flask) -> None:
    make_counties(app)


def test_the_application_form_lists_the_users_countys_items(
        app: Flask, web: Any, counties: None) -> None:
    admin: Web = web()
    admin.login("admin")
    assert upload(admin, A, dayao_csv()).status_code == 302
    with app.app_context():
        from server.models import User

        dayao = db.session.execute(select(User).where(User.username == "qiye")).scalar_one()
        yaoan = db.session.execute(select(User).where(User.username == "qiye_b")).scalar_one()
        assert DROPPED not in catalogs.filing_catalog(dayao)
        assert catalogs.filing_catalog(dayao).get(SHORTER).promised_days == 2
        assert catalogs.filing_catalog(yaoan).get(SHORTER).promised_days == 5
        assert DROPPED in catalogs.catalog_for_user(None)  # the prefecture's
        db.session.remove()
    enterprise: Web = web()
    enterprise.login("qiye")
    form = enterprise.text("/portal/apply")
    assert f'value="{SHORTER}"' in form
    assert f'value="{DROPPED}"' not in form
    other: Web = web()
    other.login("qiye_b")
    assert f'value="{DROPPED}"' in other.text("/portal/apply")


def test_a_bad_catalog_changes_nothing_and_names_its_line(
        app: Flask, web: Any, counties: None) -> None:
    admin: Web = web()
    admin.login("admin")
    lines = dayao_csv().splitlines()
    lines[2] = lines[2].replace(",dept_", ",dept_nowhere_", 1)  # line 3: no such department
    untouched = table_counts(app)
    refused = upload(admin, A, "\n".join(lines) + "\n")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'data-line="3"' in page and "第 3 行" in page and "unknown department" in page
    assert table_counts(app) == untouched
    assert "继承州（市）目录" in row_of(admin.text("/admin/catalog"), A)
    with app.app_context():  # 大姚 still runs with the prefecture's catalog
        assert catalogs.current_catalog(A) is catalogs.prefecture_catalog()
        db.session.remove()


def test_yaoans_administrator_cannot_change_or_read_dayaos_catalog(
        app: Flask, web: Any, counties: None) -> None:
    theirs: Web = web()
    theirs.login("b_admin")
    page = theirs.text("/admin/catalog")
    assert f'data-county="{B}"' in page and f'data-county="{A}"' not in page
    untouched = table_counts(app)
    assert upload(theirs, A, dayao_csv()).status_code == 403
    assert upload(theirs, A, "", action="inherit").status_code == 403
    assert theirs.get(f"/admin/catalog?county={A}&download=1").status_code == 403
    assert table_counts(app) == untouched
    # Their own county's, they may change.
    assert upload(theirs, B, dayao_csv()).status_code == 302
    with app.app_context():
        assert DROPPED not in catalogs.current_catalog(B)
        assert DROPPED in catalogs.current_catalog(A)
        # An administrator of the prefecture keeps every county's.
        ensure_user("zhou_admin", "楚雄州 管理员", PASSWORD, ["admin"], county=None)
        db.session.commit()
        db.session.remove()
    prefecture: Web = web()
    prefecture.login("zhou_admin")
    both = prefecture.text("/admin/catalog")
    assert f'data-county="{A}"' in both and f'data-county="{B}"' in both
    assert upload(prefecture, B, "", action="inherit").status_code == 302
    assert "继承州（市）目录" in row_of(prefecture.text("/admin/catalog"), B)


def test_the_download_is_the_catalog_the_county_runs_with(
        app: Flask, web: Any, counties: None) -> None:
    admin: Web = web()
    admin.login("admin")
    shipped = admin.get(f"/admin/catalog?county={A}&download=1")
    assert shipped.status_code == 200
    assert shipped.get_data(as_text=True).lstrip("\ufeff") == SHIPPED.read_text("utf-8")
    assert upload(admin, A, dayao_csv()).status_code == 302
    own = admin.get(f"/admin/catalog?county={A}&download=1").get_data(as_text=True)
    assert own.lstrip("\ufeff") == dayao_csv()


def test_a_county_catalog_costs_no_query_once_kept_and_another_process_sees_a_change(
        app: Flask, web: Any, counties: None, monkeypatch: pytest.MonkeyPatch) -> None:
    admin: Web = web()
    admin.login("admin")
    assert upload(admin, A, dayao_csv()).status_code == 302
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    with app.app_context():
        first = catalogs.current_catalog(A)
        assert first.get(SHORTER).promised_days == 2
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            for _ in range(100):
                assert catalogs.current_catalog(A) is first
                assert catalogs.current_catalog(B) is catalogs.prefecture_catalog()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert statements == []
        # Another process (a worker) replaces the catalog: seen at the next look, a minute on.
        row = db.session.get(CountyCatalog, A)
        assert row is not None
        row.csv_text = SHIPPED.read_text("utf-8")
        row.revision += 1
        db.session.commit()
        assert catalogs.current_catalog(A) is first  # within the minute: still the kept one
        # A case being filed or planned looks now.
        assert catalogs.current_catalog(A, refresh=True).get(SHORTER).promised_days == 5
        row.csv_text = dayao_csv()
        row.revision += 1
        db.session.commit()
        later = catalogs.time.monotonic() + catalogs.RECHECK_SECONDS + 1
        monkeypatch.setattr(catalogs.time, "monotonic", lambda: later)
        assert catalogs.current_catalog(A).get(SHORTER).promised_days == 2  # a minute on
        db.session.remove()


def test_the_page_says_who_changed_a_countys_catalog_and_when(
        app: Flask, web: Any, counties: None, frozen_clock: FrozenClock) -> None:
    admin: Web = web()
    admin.login("admin")
    assert upload(admin, A, dayao_csv()).status_code == 302
    [event] = catalog_events(app)
    assert event.at.astimezone(UTC) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    mine = row_of(admin.text("/admin/catalog"), A)
    # Who by name, when in Beijing time (09:00 on Monday 2026-11-23).
    assert "管理员" in mine and "2026-11-23" in mine and "09:00" in mine
    admin.get("/lang/en")
    english = row_of(admin.text("/admin/catalog"), A)
    assert "The county&#39;s own catalog" in english and "Download CSV" in english
