"""What a request costs the database (issue 18): a task list is one statement, completing a
listed task reads it only under its case's lock, a task done already is refused at once, and
on PostgreSQL a connection is pinged only after sitting idle."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from server import assembly
from server.extensions import db
from tests.conftest import Api
from tests.helpers.api_cases import only_task, start
from tests.helpers.statements import statements

#: ``db.session.get(WorkItem, id)``: the item read alone, before its case is locked.
ITEM_ALONE = re.compile(r"^select work_items\..*\sfrom work_items\s.*where work_items\.id = ",
                        re.DOTALL)


def _selects(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lstrip().startswith("select")]


def test_a_task_list_is_one_statement(api: Api) -> None:
    start(api)
    api.tasks("zhaoshang")  # the token is checked; its snapshot serves the next call
    with statements(api.app) as seen:
        listed = api.tasks("zhaoshang")
    assert [t["element_id"] for t in listed] == ["review"]
    assert len(_selects(seen)) == 1, seen


def test_completing_a_listed_task_reads_it_only_under_the_case_lock(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    with statements(api.app) as seen:
        done = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                        json={"data": {"approved": True}})
    assert done.status_code == 200, done.json
    assert done.json["completed_by"] == "zhaoshang"
    assert not [s for s in seen if ITEM_ALONE.search(s)]


def test_a_task_another_process_listed_is_completed_too(api: Api, make_app: Any) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    other_app = make_app(deploy=False)  # a second process: it has never seen this task
    other = Api(other_app, other_app.test_client())
    # (Both engines heard: PostgreSQL tests run both apps on one rolled-back connection.)
    with statements(other_app) as seen, statements(api.app) as seen_too:
        done = other.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                          json={"data": {"approved": True}})
    assert done.status_code == 200, done.json
    assert [s for s in seen + seen_too if ITEM_ALONE.search(s)]  # read first: its case?
    assert api.tasks("zhaoshang") == []


def test_a_task_done_already_is_refused_without_trying_again(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    path = f"/tasks/{review['id']}/complete"
    assert api.post(path, "zhaoshang", json={"data": {"approved": True}}).status_code == 200
    with statements(api.app) as seen:
        again = api.post(path, "zhaoshang", json={"data": {"approved": False}})
    assert again.status_code == 409
    assert "already completed" in again.json["detail"]
    assert len([s for s in seen if "from cases" in s]) == 1  # one reading, no retries


def test_someone_elses_task_is_refused_under_the_lock_as_before(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    refused = api.post(f"/tasks/{review['id']}/complete", "fgj",
                       json={"data": {"approved": True}})
    assert refused.status_code == 403
    invalid = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                       json={"data": {"approved": "maybe"}})
    assert invalid.status_code == 422
    assert [t["element_id"] for t in api.tasks("zhaoshang")] == ["review"]


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_a_pooled_connection_is_pinged_only_after_sitting_idle(
        app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[int] = []
    with app.app_context():
        dialect = db.engine.dialect
        real_ping = dialect.do_ping

        def ping(dbapi_connection: Any) -> bool:
            pings.append(1)
            return bool(real_ping(dbapi_connection))

        monkeypatch.setattr(dialect, "do_ping", ping)
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        db.session.commit()
        db.session.execute(sa.text("SELECT 1"))  # handed back a moment ago: no ping
        db.session.commit()
        assert pings == []

        # The server ends the connection while it sits in the pool; once it has sat idle
        # long enough, the next request is handed a live one instead.
        killer = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
        with killer.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                                {"pid": pid}).scalar_one()
        killer.dispose()
        monkeypatch.setattr(assembly, "PING_AFTER_IDLE_SECONDS", 0.0)
        again = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        db.session.commit()
        assert pings and again != pid


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_a_statement_each_request_sends_is_prepared_once_per_connection(api: Api) -> None:
    # psycopg prepares a statement on its fifth run on a connection and forgets them all at a
    # ROLLBACK: a request that only read must end its transaction otherwise, or the task
    # list is planned afresh on every call (issue 18).
    start(api)
    for _ in range(7):
        assert [t["element_id"] for t in api.tasks("zhaoshang")] == ["review"]
    with api.app.app_context():
        prepared = db.session.execute(sa.text(
            "SELECT statement FROM pg_prepared_statements")).scalars().all()
        db.session.commit()
    assert [s for s in prepared if "FROM work_items" in s and "LIMIT" in s], prepared
