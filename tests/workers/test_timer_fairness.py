"""One beat sweeps every county's timers, and no county's backlog starves another (issue 21).

大姚 has 5,000 overdue timers (a holiday's backlog, a worker outage); 姚安 has one, due last.
Ordered by due time alone, 姚安's timer waited behind all of 大姚's: beyond the sweep's limit it
was not even claimed, and within it its case went out in the last batch to the workers.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import Case, Deployment, PendingTimer
from server.services import timers
from workers.tasks import batches

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
BACKLOG = 5_000


def _cases_waiting(app: Flask, county: str, count: int, first_due: datetime) -> list[str]:
    """``count`` running cases of ``county``, each waiting on one timer, due a minute apart
    from ``first_due`` on; straight into the tables (a sweep reads nothing else)."""
    with app.app_context():
        deployment = db.session.execute(sa.select(Deployment.id).limit(1)).scalar_one()
        ids = [str(uuid.uuid4()) for _ in range(count)]
        db.session.execute(sa.insert(Case), [
            {"id": case_id, "reference": f"{county}-{n}", "deployment_id": deployment,
             "process_id": "parallel_case", "title": f"{county} {n}", "status": "running",
             "area": "", "county": county, "started_by": "qiye", "started_at": NOW,
             "state_version": 0, "event_count": 0, "envelope": "{}", "summary": "{}"}
            for n, case_id in enumerate(ids)])
        db.session.execute(sa.insert(PendingTimer), [
            {"case_id": case_id, "task_id": str(uuid.uuid4()), "element_id": "sheet_not_taken",
             "due_at": first_due + timedelta(minutes=n), "state": "pending"}
            for n, case_id in enumerate(ids)])
        db.session.commit()
        db.session.remove()
    return ids


def _backlog_and_one(app: Flask) -> tuple[list[str], str]:
    dayao = _cases_waiting(app, "dayao", BACKLOG, NOW - timedelta(days=5))
    [yaoan] = _cases_waiting(app, "yaoan", 1, NOW - timedelta(minutes=1))
    return dayao, yaoan


def test_another_countys_timer_fires_in_the_first_batch_behind_a_backlog(app: Flask) -> None:
    dayao, yaoan = _backlog_and_one(app)
    with app.app_context():
        sweep = timers.claim_due_timers(now=NOW)
        # Everything due is claimed, 姚安's case goes out with the first batch of 25.
        assert (sweep.due, sweep.by_county) == (BACKLOG + 1, {"dayao": BACKLOG, "yaoan": 1})
        first = batches(sweep.case_ids)[0]
        assert yaoan in first and len(first) == 25
        # 大姚's own cases still go earliest due first.
        assert [c for c in sweep.case_ids if c != yaoan] == dayao
        db.session.remove()


def test_a_backlog_beyond_the_sweeps_limit_leaves_another_countys_share(app: Flask) -> None:
    dayao, yaoan = _backlog_and_one(app)
    with app.app_context():
        first = timers.claim_due_timers(now=NOW, limit=1_000)
        # 姚安 takes the one row it has; 大姚 the rest of the limit, its earliest first.
        assert first.by_county == {"dayao": 999, "yaoan": 1}
        assert first.case_ids[0] == dayao[0] and first.case_ids[1] == yaoan
        # Claimed once: the next sweeps hand out 大姚's remaining rows and nothing twice.
        seen = list(first.case_ids)
        while sweep := timers.claim_due_timers(now=NOW, limit=1_000).case_ids:
            seen.extend(sweep)
        assert sorted(seen) == sorted([*dayao, yaoan])
        left = db.session.execute(sa.select(sa.func.count()).select_from(PendingTimer)
                                  .where(PendingTimer.state == "pending")).scalar_one()
        assert left == 0
        db.session.remove()


@pytest.mark.real_commits
@pytest.mark.postgres_only
def test_two_sweeps_at_once_never_claim_one_timer_twice(app: Flask) -> None:
    """Two beats by mistake: each county's rows are picked FOR UPDATE SKIP LOCKED."""
    dayao, yaoan = _backlog_and_one(app)
    claimed: list[list[str]] = []
    start = threading.Barrier(2)

    def sweep() -> None:
        with app.app_context():
            start.wait()
            got: list[str] = []
            while ids := timers.claim_due_timers(now=NOW, limit=400).case_ids:
                got.extend(ids)
            claimed.append(got)
            db.session.remove()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(claimed) == 2
    together = claimed[0] + claimed[1]
    assert len(together) == len(set(together)) == BACKLOG + 1
    assert set(together) == {*dayao, yaoan}
