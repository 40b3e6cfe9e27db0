"""Replay: at every step the replayed state is the state people saw then; re-execution."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from server.engine.clock import FrozenClock
from server.extensions import db
from tests.audit.walk import assert_replay_matches, walk_case
from tests.conftest import Api
from tests.helpers.reexecution import reexecute
from tests.helpers.tamper import tampering

# Rows are changed behind the app's back on a connection of its own (as an intruder
# would): the test's rows must be committed for it to see them.
pytestmark = pytest.mark.real_commits


N_ITEMS = 12


def test_every_step_of_a_twelve_item_case_replays_as_it_was(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, N_ITEMS)
    found = assert_replay_matches(api.app, walk)
    # The end, then the seal of the state it ended in.
    assert [s.event["type"] for s in found.steps[-2:]] == ["case_ended", "case_state_sealed"]
    last = found.steps[-2]
    assert last.active == []
    assert {"review", "take_sheet", "handle_item", "report_result", "close_case"} <= set(last.done)
    # Urging happened (sheets waited over 30 minutes) and shows in the replay.
    # (The timers open the urging tasks of several sheets in one step: one event for them all.)
    assert any(s.event["type"] in {"task_created", "tasks_created"}
               and s.event["element_id"] == "urge_department" for s in found.steps)
    # Midway the items are in progress: several sheets active at once.
    assert max(sum(t["element_id"] == "take_sheet" for t in s.active_tasks)
               for s in found.steps) == N_ITEMS
    assert found.diagram is not None and 'id="parallel_case"' in found.diagram


def test_reexecution_follows_the_recorded_path_and_fails_on_a_tampered_input(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, N_ITEMS)
    # How long it takes is a figure to measure on a quiet machine, not an assertion that a
    # loaded test machine fails at random (it took over 30 s under the full suite's load).
    result = reexecute(api.app, walk.case_id)
    assert result.ok, result.detail
    assert result.recorded == result.replayed
    assert ("task_created", "urge_department") in result.recorded
    assert result.recorded[-1] == ("case_ended", "")

    with api.app.app_context():
        row = db.session.execute(sa.text(
            "SELECT seq, payload FROM audit_events WHERE case_id = :c AND type = "
            "'task_completed' AND element_id = 'review'"), {"c": walk.case_id}).one()
        db.session.remove()
    payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
    payload["new"]["approved"] = False
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE audit_events SET payload = :p WHERE seq = :s"),
                     {"p": json.dumps(payload, ensure_ascii=False), "s": row.seq})
    tampered = reexecute(api.app, walk.case_id)
    assert not tampered.ok
    # The rejected application ends right after the review instead of opening the sheets.
    assert tampered.first_difference == 2
    assert tampered.replayed[2] == ("case_ended", "")


def test_a_running_case_replays_and_reexecutes(api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 3, finish=False)
    assert_replay_matches(api.app, walk)
    result = reexecute(api.app, walk.case_id)
    assert result.ok, result.detail
