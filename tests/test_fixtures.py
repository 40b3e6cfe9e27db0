"""The test fixtures themselves (tests/conftest.py): on PostgreSQL a test runs in one
transaction that no other connection sees, its numbering starting at 1; a test marked
``real_commits`` commits for real on emptied tables; every test finds the engine as imported.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.engine import scripting
from server.extensions import db
from tests.conftest import Api


def _start_case(api: Api) -> str:
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "items": [
            {"code": "project_filing", "name": "企业投资项目备案", "department": "dept_fgj",
             "promised_days": 3}]}})
    assert response.status_code == 201, response.json
    case_id: str = response.json["id"]
    return case_id


def _seen(app: Flask) -> tuple[list[str], list[int]]:
    """The cases and audit numbers the app's own session sees."""
    with app.app_context():
        cases = list(db.session.execute(sa.text("SELECT id FROM cases")).scalars())
        seqs = list(db.session.execute(sa.text(
            "SELECT seq FROM audit_events ORDER BY seq")).scalars())
        db.session.remove()
    return cases, seqs


def _seen_from_outside(app: Flask) -> int:
    """The cases another connection sees (a second process, say)."""
    outside = sa.create_engine(app.config["GUANJIA"].database_url)
    try:
        with outside.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one())
    finally:
        outside.dispose()


@pytest.mark.postgres_only  # SQLite: every test has a fresh copy of the seeded file instead
def test_a_test_commits_inside_one_transaction_that_no_other_connection_sees(
        api: Api) -> None:
    case_id = _start_case(api)
    cases, seqs = _seen(api.app)
    # The app committed (201): its rows are there for it, numbered from 1 as on a new database.
    assert cases == [case_id]
    assert seqs[0] == 1 and seqs == list(range(1, len(seqs) + 1))
    # Nothing of it outside the test's transaction: at its end it is rolled back, untouched.
    assert _seen_from_outside(api.app) == 0


@pytest.mark.real_commits
@pytest.mark.postgres_only  # SQLite: every test has a fresh copy of the seeded file instead
def test_a_real_commits_test_starts_on_emptied_tables_and_commits_for_real(api: Api) -> None:
    cases, seqs = _seen(api.app)
    # No case of an earlier test; the log holds this test's deployment only, numbered from 1.
    assert cases == [] and seqs == list(range(1, len(seqs) + 1))
    case_id = _start_case(api)
    assert _seen(api.app)[0] == [case_id]
    assert _seen_from_outside(api.app) == 1


def test_every_test_finds_the_engine_as_imported(make_app: Any) -> None:
    # No calendar yet, whatever app an earlier test (or the session's database) built...
    with pytest.raises(RuntimeError, match="no working-day calendar installed"):
        scripting.due_in_working_days(1)
    make_app()
    # ...until this test's app installs its own (put back after the test).
    assert scripting.due_in_working_days(1)


@pytest.mark.postgres_only  # SQLite: every test has a fresh copy of the seeded file instead
def test_a_second_connection_in_a_rolled_back_test_is_refused_instead_of_hanging(
        api: Api) -> None:
    # It would wait for the rows and locks of the test's own transaction, for ever.
    with api.app.app_context(), pytest.raises(RuntimeError, match="real_commits"):
        db.engine.connect()
