"""Timers as rows: the sweep claims due ones once, firing is a locked, audited, idempotent step."""

from __future__ import annotations

import json
from datetime import timedelta

from server.engine.clock import FrozenClock
from server.extensions import db
from server.services import timers
from tests.conftest import Api, table_counts
from tests.workers.helpers import (
    approve_review,
    deploy_timer_paths,
    fired_events,
    open_items,
    query,
    start_case,
)


def test_sweep_claims_due_timers_once_and_reclaims_stuck_ones(
        api: Api, frozen_clock: FrozenClock) -> None:
    case_id = start_case(api)
    approve_review(api, case_id)
    with api.app.app_context():
        assert [t.element_id for t in timers.timers_of(case_id)] == ["sheet_not_taken"] * 2
        # Not due yet: nothing is claimed.
        assert timers.claim_due_timers().case_ids == []
        frozen_clock.advance(timedelta(minutes=31))
        first = timers.claim_due_timers()
        assert (first.case_ids, first.due, first.stuck) == ([case_id], 2, 0)
        # A second sweep (a second beat, a quick repeat) hands out nothing more.
        assert timers.claim_due_timers().case_ids == []
        # A claim whose message was lost comes back once it has been waiting too long.
        again = timers.claim_due_timers(stuck_after=timedelta(seconds=-1))
        assert (again.case_ids, again.stuck) == ([case_id], 2)
        db.session.remove()


def test_firing_opens_the_urging_tasks_once_and_audits_each_timer(
        api: Api, frozen_clock: FrozenClock) -> None:
    case_id = start_case(api)
    approve_review(api, case_id)
    frozen_clock.advance(timedelta(minutes=31))
    with api.app.app_context():
        fired = timers.fire_case_timers(case_id)
        db.session.remove()
    assert sorted(t.element_id for t in fired) == ["sheet_not_taken"] * 2
    assert len(open_items(api.app, "urge_department")) == 2
    events = fired_events(api.app)
    assert sorted(e[1] for e in events) == sorted(t.task_id for t in fired)
    payload = query(api.app, "SELECT payload FROM audit_events WHERE type = 'timer_fired'")
    assert all(_json(p[0])["due_at"] for p in payload)
    # The steward sees the urging tasks in the task list, and the sheets are still open.
    assert [t["element_id"] for t in api.tasks("guanjia")] == ["urge_department"] * 2
    assert [t["element_id"] for t in api.tasks("fgj")] == ["take_sheet"]

    before = table_counts(api.app)
    with api.app.app_context():
        assert timers.fire_case_timers(case_id) == []
        db.session.remove()
    assert table_counts(api.app) == before


def test_a_timer_whose_task_was_done_in_time_never_fires(
        api: Api, frozen_clock: FrozenClock) -> None:
    case_id = start_case(api)
    approve_review(api, case_id)
    for user in ("fgj", "zrzy"):
        sheet = [t for t in api.tasks(user) if t["element_id"] == "take_sheet"][0]
        assert api.post(f"/tasks/{sheet['id']}/complete", user,
                        json={"data": {"receiver": user}}).status_code == 200
    frozen_clock.advance(timedelta(hours=2))
    with api.app.app_context():
        assert timers.timers_of(case_id) == []
        assert timers.claim_due_timers().case_ids == []
        assert timers.fire_case_timers(case_id) == []
        db.session.remove()
    assert fired_events(api.app) == []


def test_a_working_day_timer_waits_for_the_next_working_day(
        api: Api, frozen_clock: FrozenClock) -> None:
    deploy_timer_paths(api.app)
    case_id = start_case(api, "working_day_case")
    with api.app.app_context():
        (timer,) = timers.timers_of(case_id)
        # Started Monday 09:00 Beijing: due at the end of Tuesday, not 24 hours later.
        assert timer.due_at > frozen_clock.now() + timedelta(hours=24)
        frozen_clock.advance(timedelta(hours=25))
        assert timers.fire_case_timers(case_id) == []
        frozen_clock.set(timer.due_at + timedelta(seconds=1))
        assert [t.element_id for t in timers.fire_case_timers(case_id)] == ["reply_overdue"]
        db.session.remove()
    assert len(open_items(api.app, "urge_reply")) == 1


def _json(value: object) -> dict[str, str]:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[return-value]
