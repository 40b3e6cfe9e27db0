"""A real ``celery worker`` process (with beat) fires timers under a controllable clock.

PostgreSQL and Redis; the worker's clock is the file ``GUANJIA_FAKE_NOW_FILE``, the test's is
the frozen engine clock, and the test moves both together.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import Api
from tests.helpers.notices import inbox_of
from tests.workers.helpers import (
    REDIS_URL,
    approve_review,
    deploy_timer_paths,
    fired_events,
    open_items,
    query,
    redis_key,
    start_case,
    wait_for,
    write_now,
)
from workers import redis_transport_options


def move_time(clock: FrozenClock, now_file: Path, moment: datetime) -> None:
    clock.set(moment)
    write_now(now_file, moment)


def assert_no_case_is_locked(app: Flask) -> None:
    """Every case row can be locked at once (NOWAIT): no worker died holding one."""
    import sqlalchemy as sa

    engine = sa.create_engine(app.config["GUANJIA"].database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET lock_timeout = '1s'")
        conn.exec_driver_sql("SELECT id FROM cases FOR UPDATE NOWAIT").all()
    engine.dispose()


@pytest.mark.worker
def test_thirty_minute_and_working_day_timers_fire_through_a_worker(
        api: Api, frozen_clock: FrozenClock, now_file: Path, start_worker: Any) -> None:
    deploy_timer_paths(api.app)
    move_time(frozen_clock, now_file, frozen_clock.now())
    sheets = start_case(api)
    approve_review(api, sheets)
    reply = start_case(api, "working_day_case")
    worker = start_worker()

    # Twenty-nine minutes: nothing is due, beat sweeps and the worker leaves the cases alone.
    move_time(frozen_clock, now_file, frozen_clock.now() + timedelta(minutes=29))
    wait_for(lambda: "guanjia.timers.sweep" in worker.output(), what="a beat sweep")
    assert fired_events(api.app) == []

    move_time(frozen_clock, now_file, frozen_clock.now() + timedelta(minutes=2))
    wait_for(lambda: len(open_items(api.app, "urge_department")) == 2, timeout=60,
             what=lambda: f"the 30-minute timers\n{worker.output()}")
    assert {e[2] for e in fired_events(api.app)} == {"sheet_not_taken"}
    # The working-day timer waits for the end of the next working day, not for 24 hours.
    move_time(frozen_clock, now_file, frozen_clock.now() + timedelta(hours=24))
    (due,) = query(api.app, "SELECT due_at FROM pending_timers WHERE case_id = :c", c=reply)
    assert open_items(api.app, "urge_reply") == []
    move_time(frozen_clock, now_file, frozen_clock.now() + timedelta(days=2))
    wait_for(lambda: len(open_items(api.app, "urge_reply")) == 1, timeout=60,
             what=lambda: f"the working-day timer due {due[0]}\n{worker.output()}")
    events = fired_events(api.app)
    assert sorted(e[2] for e in events) == ["reply_overdue", "sheet_not_taken",
                                            "sheet_not_taken"]
    assert {e[0] for e in events} == {sheets, reply}
    assert query(api.app, "SELECT count(*) FROM pending_timers")[0][0] == 0
    # The steward got a new-task notice for each urging task, written by the worker.
    with api.app.app_context():
        assert [n.kind for n in inbox_of("guanjia")].count("new_task") == 3
    assert_no_case_is_locked(api.app)


def waiting_on_a_lock(app: Flask) -> int:
    """How many sessions of this test's database wait for a row lock right now."""
    return int(query(app, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                          "current_database() AND wait_event_type = 'Lock'")[0][0])


def unacked(queue: str) -> int:
    """Messages of this test that a worker took and has not acknowledged (kombu's
    ``unacked`` hash, under the test's own key prefix)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.hlen(redis_key(queue, "unacked")))
    finally:
        client.close()


def queued(queue: str) -> int:
    """Messages waiting in this test's queue."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.llen(redis_key(queue, queue)))
    finally:
        client.close()


def test_a_killed_workers_messages_come_back_about_the_visibility_timeout_after_it() -> None:
    """kombu's own restore scan runs every 100 s: longer than a short visibility timeout."""
    short = redis_transport_options({"visibility_timeout": 5})
    assert short["unacked_restore_interval"] * short["unacked_restore_throttle"] <= 1
    assert short["unacked_mutex_expire"] <= 5  # a lock a killed scanner left behind
    # An operator's own option keeps ours: an hour, scanned every 100 s as kombu would.
    hour = redis_transport_options({"socket_timeout": 5})
    assert (hour["visibility_timeout"], hour["socket_timeout"]) == (3600, 5)
    assert hour["unacked_restore_interval"] * hour["unacked_restore_throttle"] == 100
    assert hour["unacked_mutex_expire"] == 300
    # A cadence the operator set is theirs.
    own = redis_transport_options({"visibility_timeout": 5, "unacked_restore_throttle": 3})
    assert own["unacked_restore_throttle"] == 3 and "unacked_restore_interval" not in own


@pytest.mark.worker
def test_a_worker_killed_while_firing_loses_nothing_and_fires_nothing_twice(
        api: Api, frozen_clock: FrozenClock, now_file: Path, start_worker: Any,
        redis_queue: str) -> None:
    cases = []
    for _ in range(40):
        # A second apart, so the sweep sends the cases out in this order (equal due times
        # would leave the order, and whether anything fires before a held case, to chance).
        move_time(frozen_clock, now_file, frozen_clock.now() + timedelta(seconds=1))
        case_id = start_case(api)
        approve_review(api, case_id)
        cases.append(case_id)
    expected = 2 * len(cases)
    # The test holds these cases' rows: the worker must stop at them. Never the first of
    # its batch (batches of five here), so each batch fires something before it waits.
    held = cases[2::4]
    # A killed worker's messages come back after 5 s; its claimed timers are re-swept after 3.
    settings: dict[str, Any] = {"transport_options": {"visibility_timeout": 5},
                                "GUANJIA_TIMER_STUCK_SECONDS": "3"}
    engine = sa.create_engine(api.app.config["GUANJIA"].database_url)
    holder = engine.connect()
    try:
        holder.execute(sa.text("SELECT id FROM cases WHERE id = ANY(:ids) FOR UPDATE"),
                       {"ids": held}).all()
        worker = start_worker(concurrency=2, **settings)
        wait_for(lambda: "ready" in worker.output(), what="the worker to start")
        move_time(frozen_clock, now_file, frozen_clock.now() + timedelta(minutes=31))
        # Mid-run, for certain: timers have fired and the worker waits on a held case.
        wait_for(lambda: fired_events(api.app) and waiting_on_a_lock(api.app), timeout=60,
                 every=0.05, what=lambda: f"firings and a worker waiting on a held case\n"
                                              f"{worker.output()}")
        worker.kill9()
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    at_kill = fired_events(api.app)
    assert 0 < len(at_kill) <= expected - 2 * len(held)
    assert not {e[0] for e in at_kill} & set(held)
    stuck = query(api.app, "SELECT count(*) FROM pending_timers WHERE state = 'enqueued'")
    assert stuck[0][0] > 0
    assert unacked(redis_queue) > 0  # the batch it was firing, never acknowledged

    restarted = start_worker(concurrency=2, **settings)
    wait_for(lambda: len(fired_events(api.app)) >= expected, timeout=120,
             what=lambda: f"all timers after the restart\n{restarted.output()}")
    # Let redelivered and re-swept duplicates arrive: they must change nothing. Done when
    # nothing of ours is left unacknowledged or queued and a sweep ran after that.
    wait_for(lambda: unacked(redis_queue) == 0 and queued(redis_queue) == 0, timeout=60,
             what=lambda: f"the killed worker's messages to be redelivered and handled\n"
                          f"{restarted.output()}")
    sweeps = restarted.output().count("guanjia.timers.sweep")
    wait_for(lambda: restarted.output().count("guanjia.timers.sweep") > sweeps + 1,
             what="two more sweeps")
    events = fired_events(api.app)
    assert len(events) == expected
    assert len({e[1] for e in events}) == expected  # each timer exactly once
    assert sorted({e[0] for e in events}) == sorted(cases)
    assert len(open_items(api.app, "urge_department")) == expected
    assert query(api.app, "SELECT count(*) FROM pending_timers")[0][0] == 0
    assert query(api.app, "SELECT count(*) FROM incidents")[0][0] == 0
    # Every case kept its history whole: audit sequence numbers have no gaps.
    for case_id in cases:
        seqs = [r[0] for r in query(api.app, "SELECT case_seq FROM audit_events WHERE "
                                             "case_id = :c ORDER BY case_seq", c=case_id)]
        assert seqs == list(range(1, len(seqs) + 1))
    assert_no_case_is_locked(api.app)
