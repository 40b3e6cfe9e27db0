"""How fast a person's unread badge and first inbox page answer with a long notice history.

Builds a throw-away database (a SQLite file and a PostgreSQL database named with the pid,
dropped at the end), writes ``--notices`` notices (100,000) over ``--cases`` cases (10,000)
straight into the tables (on PostgreSQL by COPY), as the server would have left them: most
are the new-task notices of tasks long finished (no words, no case: rendered from the task),
one case-level notice per case (keyed, no task), and the last ``--open`` cases (300) have
one task each still open. The audience is spread over four departments, dept_fgj holding
half; the agent (dept_fgj) has read some. Then times, in an app context, the header badge
(``inbox.unread_open_count``) and the inbox's first page (``inbox.list_for_user``):

    python bench/inbox.py [--notices 100000] [--cases 10000] [--open 300] [--repeat 50]
                          [--databases sqlite,postgresql]

Prints the median and 95th percentile in milliseconds per database and query, and the
answers (the badge and a digest of the page), which must not change with the queries.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.scratch import fixture_app, p95, scratch_database  # noqa: E402

GROUPS = ["dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj"]  # dept_fgj holds half
AGENT = "fgj"


def _group(n: int) -> str:
    return "dept_fgj" if n % 2 == 0 else GROUPS[1 + n % 3]


def build(url: str, instance: Path, notices: int, cases: int, still_open: int):  # type: ignore[no-untyped-def]
    from server.extensions import db
    from server.models import Case, Deployment, Notice, Notification, WorkItem
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_user

    app = fixture_app(url, instance)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    per_case = max(1, notices // cases)
    with app.app_context():
        ensure_standard_groups()
        ensure_user(AGENT, "发改局", "bench-password", ["dept_fgj"])
        db.session.commit()
        deployment_id = db.session.execute(sa.select(Deployment.id)).scalar_one()
        case_rows = [{"id": str(uuid.uuid4()), "reference": f"GJ-B-{n:06d}",
                      "deployment_id": deployment_id, "process_id": "parallel_case",
                      "title": f"基准项目 {n}", "status": "running" if n >= cases - still_open
                      else "completed", "area": "", "county": None, "started_by": "qiye",
                      "started_at": start + timedelta(hours=n), "state_version": 0,
                      "event_count": 0, "envelope": "{}", "summary": "{}"}
                     for n in range(cases)]
        db.session.execute(sa.insert(Case), case_rows)
        db.session.commit()
        items: list[dict[str, object]] = []
        rows: list[dict[str, object]] = []
        for n, case in enumerate(case_rows):
            at = start + timedelta(hours=n)
            is_open = n >= cases - still_open
            for k in range(per_case - 1):  # the case's tasks, each told to its department
                task = str(uuid.uuid4())
                ready = is_open and k == per_case - 2
                items.append({"id": task, "case_id": case["id"], "element_id": f"task_{k}",
                              "name": f"办理 {k}", "lane": "", "form_key": "", "stage": "",
                              "candidate_groups": _group(n + k),
                              "state": "ready" if ready else "completed",
                              "due_provisional": False, "created_at": at, "context": "{}",
                              "completed_at": None if ready else at, "county": None})
                rows.append({"kind": "new_task", "title": None, "body": None,
                             "case_id": None, "task_id": task, "dedupe_key": None,
                             "created_at": at + timedelta(minutes=k), "users": None,
                             "groups": _group(n + k), "county": None})
            rows.append({"kind": "result_ready", "title": f"已办结 {case['reference']}",
                         "body": "", "case_id": case["id"], "task_id": None,
                         "dedupe_key": f"done:{case['id']}",
                         "created_at": at + timedelta(minutes=59),
                         "users": "qiye" if n % 3 else None,
                         "groups": None if n % 3 else _group(n), "county": None})
        _write(db, url, WorkItem.__table__, items)
        _write(db, url, Notice.__table__, rows)
        # The agent read the notices of a few older cases.
        read = db.session.execute(sa.text(
            "SELECT id FROM notices WHERE groups = 'dept_fgj' ORDER BY id LIMIT 3000")).scalars()
        db.session.execute(sa.insert(Notification), [
            {"notice_id": i, "username": AGENT, "read_at": start, "email_state": "none"}
            for i in read])
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE")
        db.session.remove()
    return app


def _write(db, url: str, table, rows: list[dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    """Rows into ``table``: by COPY on PostgreSQL (timestamps as the column stores them,
    naive UTC), in batches on SQLite."""
    columns = list(rows[0])
    if url.startswith("postgresql"):
        raw = db.engine.raw_connection()
        try:
            with raw.cursor().copy(  # type: ignore[attr-defined]
                    f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(
                        v.replace(tzinfo=None) if isinstance(v, datetime) else v
                        for v in (row[c] for c in columns)))
            raw.commit()
        finally:
            raw.close()
    else:
        for at in range(0, len(rows), 5000):
            db.session.execute(sa.insert(table), rows[at:at + 5000])
        db.session.commit()


def measure(app, repeat: int) -> dict[str, tuple[float, float, str]]:  # type: ignore[no-untyped-def]
    from server.extensions import db
    from server.models import User
    from server.services import inbox

    results = {}
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.username == AGENT)).scalar_one()
        for label, call in [
                ("badge (unread_open_count)", lambda: inbox.unread_open_count(user)),
                ("inbox page 1 (list_for_user)", lambda: inbox.list_for_user(user)),
                ("unread page (unread_only)",
                 lambda: inbox.list_for_user(user, unread_only=True))]:
            answer = call()  # warm caches
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            if isinstance(answer, list):
                digest = hashlib.sha1(repr([(e.id, e.title, e.read_at) for e in answer])
                                      .encode()).hexdigest()[:10]
                shown = f"{len(answer)} rows {digest}"
            else:
                shown = str(answer)
            times.sort()
            results[label] = (statistics.median(times),
                              p95(times), shown)
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        print("load", " ".join(f.read().split()[:3]))
    for kind in args.databases.split(","):
        with scratch_database(kind, "inbox") as (url, instance):
            app = build(url, instance, args.notices, args.cases, args.open)
            for label, (median, p95, shown) in measure(app, args.repeat).items():
                print(f"{kind:10s} {args.notices} notices, {args.open} open | {label:28s} | "
                      f"median {median:6.1f} ms | p95 {p95:6.1f} ms | answer {shown}")


if __name__ == "__main__":
    main()
