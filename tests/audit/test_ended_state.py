"""An ended case keeps one engine row, and nothing anyone reads of it changes (issue 18).

Its history is in the audit log; what is still read from its engine state is its final
variables (the case page, the API, the auditor's re-execution). The whole task tree of a
12-task case was 17 KB of the 41 KB it left behind.
"""

from __future__ import annotations

import sqlalchemy as sa

from server.engine.clock import FrozenClock
from server.extensions import db
from server.services.store import case_store
from tests.audit.walk import walk_case
from tests.conftest import Api
from tests.helpers.reexecution import assert_same


def engine_rows(api: Api, case_id: str) -> list[tuple[str, str]]:
    with api.app.app_context():
        rows = [(r[0], r[1]) for r in db.session.execute(sa.text(
            "SELECT id, workflow FROM engine_tasks WHERE case_id = :c"), {"c": case_id})]
        db.session.remove()
    return rows


def test_an_ended_case_keeps_one_engine_row_and_reads_the_same(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 3, finish=False)
    assert len(engine_rows(api, walk.case_id)) > 10  # a running case keeps its whole tree

    walk = walk_case(api, frozen_clock, 3)
    shown = api.get(f"/cases/{walk.case_id}", "zhaoshang").json
    assert shown["status"] == "completed"
    assert engine_rows(api, walk.case_id) == [(engine_rows(api, walk.case_id)[0][0], "top")]

    # A process that never ran the case reads it from the one stored row: same variables.
    with api.app.app_context():
        case_store().forget(walk.case_id)
    again = api.get(f"/cases/{walk.case_id}", "zhaoshang").json
    assert again["data"] == shown["data"]
    assert again["data"]["project_name"] == "储能电池基地" and len(again["data"]["items"]) == 3
    # The seal covers the shrunken rows, and the recorded inputs still lead to the stored end.
    assert_same(api.app, walk.case_id)
