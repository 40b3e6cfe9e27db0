"""Benchmark of the timer sweep: 10,000 waiting timers, 500 due; one sweep claims and enqueues.

Run: ``python bench/timers.py`` (PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379, as
in the tests; ``--sqlite-only`` skips PostgreSQL). The budget: one sweep finds and enqueues the
500 due cases in under a second. The claim is one indexed UPDATE … RETURNING on
``pending_timers (state, due_at)``; enqueueing sends the cases in batches (20 messages).
Prints the figures for PostgreSQL and SQLite, with Redis and with the embedded SQLite broker.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from server import create_app  # noqa: E402
from server.cli import upgrade_database  # noqa: E402
from server.config import Settings  # noqa: E402
from server.extensions import db  # noqa: E402
from server.services.timers import claim_due_timers  # noqa: E402
from workers.dispatch import celery_of  # noqa: E402
from workers.tasks import batches  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"
WAITING, DUE = 10_000, 500
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def fill(app: object) -> None:
    """10,000 cases each waiting on one timer; 500 of them due (spread through the past day)."""
    with app.app_context():  # type: ignore[attr-defined]
        conn = db.session.connection()
        conn.execute(sa.text(
            "INSERT INTO deployments (id, number, content_hash, author, comment, created_at) "
            "VALUES (1, 1, 'bench', 'bench', '', :t)"), {"t": NOW.replace(tzinfo=None)})
        cases, timers = [], []
        for n in range(WAITING):
            case_id = str(uuid.uuid4())
            due = NOW - timedelta(minutes=n + 1) if n < DUE else NOW + timedelta(minutes=n)
            cases.append({"id": case_id, "reference": f"B-{n}", "deployment_id": 1,
                          "process_id": "p", "title": "", "status": "running",
                          "area": "", "started_by": "bench",
                          "started_at": NOW.replace(tzinfo=None), "state_version": 1,
                          "event_count": 0, "envelope": "{}", "summary": "{}"})
            timers.append({"case_id": case_id, "task_id": str(uuid.uuid4()),
                           "element_id": "sheet_not_taken", "due_at": due.replace(tzinfo=None),
                           "state": "pending"})
        conn.execute(sa.text(
            "INSERT INTO cases (id, reference, deployment_id, process_id, title, status, area, "
            "started_by, started_at, state_version, event_count, envelope, summary) VALUES "
            "(:id, :reference, :deployment_id, :process_id, :title, :status, :area, "
            ":started_by, :started_at, :state_version, :event_count, :envelope, :summary)"),
            cases)
        conn.execute(sa.text(
            "INSERT INTO pending_timers (case_id, task_id, element_id, due_at, state) VALUES "
            "(:case_id, :task_id, :element_id, :due_at, :state)"), timers)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE pending_timers"))
            db.session.commit()


def run(label: str, database_url: str, broker_url: str, instance: Path) -> None:
    settings = Settings.from_env({
        "GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": database_url,
        "GUANJIA_SECRET_KEY": "bench", "GUANJIA_INSTANCE_DIR": str(instance),
        "GUANJIA_BROKER_URL": broker_url,
        "GUANJIA_PROCESSES_DIR": str(ROOT / "tests" / "fixtures" / "processes"),
        "GUANJIA_FORMS_DIR": str(ROOT / "tests" / "fixtures" / "forms")})
    app = create_app(settings)
    upgrade_database(app)
    fill(app)
    queue = f"guanjia-bench-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        celery = celery_of(app)
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
        started = time.perf_counter()
        sweep = claim_due_timers(now=NOW)
        claimed = time.perf_counter()
        with celery.producer_or_acquire() as producer:
            # Exactly what the beat-driven sweep task sends (workers/tasks.py).
            for batch in batches(sweep.case_ids):
                celery.send_task("guanjia.timers.fire_cases", args=[batch], queue=queue,
                                 producer=producer)
        done = time.perf_counter()
        again = claim_due_timers(now=NOW)
        assert len(sweep.case_ids) == DUE and again.case_ids == [], (sweep, again)
        with celery.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
        db.session.remove()
        db.engine.dispose()
    total = done - started
    print(f"{label:<28} claim {DUE} of {WAITING:,}: {(claimed - started) * 1000:7.1f} ms   "
          f"enqueue: {(done - claimed) * 1000:7.1f} ms   sweep total: {total * 1000:7.1f} ms"
          f"   {'OK' if total < 1.0 else 'OVER BUDGET'} (< 1 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for label, broker in (("SQLite + Redis", REDIS),
                              ("SQLite + embedded broker", f"sqla+sqlite:///{base}/broker.sqlite")):
            folder = base / label.replace(" ", "").replace("+", "_")
            folder.mkdir()
            run(label, f"sqlite:///{folder}/bench.sqlite", broker, folder)
        if args.sqlite_only:
            return
        name = f"guanjia_bench_timers_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        try:
            run("PostgreSQL + Redis", f"{PG}/{name}", REDIS, base)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.dispose()


if __name__ == "__main__":
    main()
