"""How fast the task list answers with 10,000 open tasks in the database.

Builds a fresh database (SQLite file and a throw-away PostgreSQL database), inserts 10,000
ready work items spread over the departments straight into the tables (on PostgreSQL by COPY:
``--rows 1000000``, issue 18's million, is built in about a minute), signs in as a
department agent through the login form and times the task-list page request.

    python bench/tasklist.py [--rows 10000] [--repeat 40] [--databases sqlite,postgresql]
                             [--counties N]

With ``--counties N`` the cases are spread over N counties and the agent belongs to the first
(issue 21: the list is scoped to the user's county, so it counts a 1/N share; each item
carries its case's county, as the server writes it); without, the
agent is prefecture-wide and the list is the single-county one. Prints the median and 95th
percentile in milliseconds per database and query.
"""

from __future__ import annotations

import argparse
import re
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
PASSWORD = "bench-password"


def build(url: str, instance: Path, rows: int, counties: int = 0):  # type: ignore[no-untyped-def]
    from server.extensions import db
    from server.models import Case, Deployment, WorkItem, WorkItemGroup
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_user

    app = fixture_app(url, instance)
    now = datetime.now(UTC)
    with app.app_context():
        ensure_standard_groups()
        codes = [f"county{n}" for n in range(counties)]
        if codes:
            from server.models import County
            from server.services.counties import DAYAO

            for n, code in enumerate(codes):
                db.session.add(County(**{**DAYAO, "code": code, "name": f"县{n}",
                                         "is_default": n == 0}, revision=1, updated_by="bench"))
            db.session.flush()
        ensure_user("fgj", "发改局", PASSWORD, ["dept_fgj"], county=codes[0] if codes else None)
        db.session.commit()
        deployment_id = db.session.execute(sa.select(Deployment.id)).scalar_one()
        cases = []
        for n in range(rows // 10):
            cases.append({"id": str(uuid.uuid4()), "reference": f"GJ-B-{n:06d}",
                          "deployment_id": deployment_id, "process_id": "parallel_case",
                          "title": f"基准项目 {n}", "status": "running", "area": "",
                          "county": codes[n % len(codes)] if codes else None,
                          "started_by": "qiye", "started_at": now, "state_version": 0,
                          "event_count": 0, "envelope": "{}", "summary": "{}"})
        db.session.execute(sa.insert(Case), cases)

        def item_rows():  # type: ignore[no-untyped-def]
            """The work items and each one's group offer, made as they are written."""
            for n in range(rows):
                case = cases[n // 10]
                group = "dept_fgj" if n % 2 == 0 else GROUPS[1 + n % 3]
                yield ({"id": str(uuid.uuid4()), "case_id": case["id"],
                        "element_id": "handle_item", "name": f"办理 {n}", "lane": "",
                        "form_key": "handle", "candidate_groups": group, "state": "ready",
                        "stage": "立项", "due_at": now + timedelta(hours=(n % 400) - 100),
                        "due_provisional": False, "created_at": now, "context": "{}",
                        "county": case["county"]}, group)

        if url.startswith("postgresql"):
            # COPY: a million rows in a minute, where batched INSERTs took many.
            db.session.commit()
            raw = db.engine.raw_connection()
            try:
                cursor = raw.cursor()
                columns = ("id", "case_id", "element_id", "name", "lane", "form_key",
                           "candidate_groups", "state", "stage", "due_at", "due_provisional",
                           "created_at", "context", "county")
                links = []
                with cursor.copy(  # type: ignore[attr-defined]
                        f"COPY work_items ({', '.join(columns)}) FROM STDIN") as copy:
                    for item, group in item_rows():
                        copy.write_row(tuple(item[c] for c in columns))
                        links.append((item["id"], group, "ready", item["county"]))
                with cursor.copy(  # type: ignore[attr-defined]
                        "COPY work_item_groups (work_item_id, group_code, state, county) "
                        "FROM STDIN") as copy:
                    for link in links:
                        copy.write_row(link)
                raw.commit()
            finally:
                raw.close()
        else:
            batch: list[tuple[dict[str, object], str]] = []
            for row in item_rows():
                batch.append(row)
                if len(batch) == 2000:
                    _insert_items(db, WorkItem, WorkItemGroup, batch)
                    batch = []
            if batch:
                _insert_items(db, WorkItem, WorkItemGroup, batch)
        db.session.commit()
        # Fresh statistics (and on PostgreSQL the visibility map index-only scans read), as
        # autovacuum or a periodic ANALYZE would give them.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE")
        db.session.remove()
    return app


def _insert_items(db, items, groups, batch):  # type: ignore[no-untyped-def]
    db.session.execute(sa.insert(items), [item for item, _ in batch])
    db.session.execute(sa.insert(groups), [
        {"work_item_id": item["id"], "group_code": group, "state": "ready",
         "county": item["county"]} for item, group in batch])


def measure(app, repeat: int) -> dict[str, tuple[float, float, int]]:  # type: ignore[no-untyped-def]
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    signed = client.post("/login", data={"username": "fgj", "password": PASSWORD,
                                         "csrf_token": token})
    assert signed.status_code == 302, signed.status_code
    results = {}
    for label, path in [("groups, page 1", "/tasks?scope=groups"),
                        ("all, page 40", "/tasks?page=40"),
                        ("red light filter", "/tasks?light=red"),
                        ("yellow, by department", "/tasks?light=yellow&department=dept_fgj")]:
        client.get(path)  # warm caches (calendar, templates, query plans)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        body = response.get_data(as_text=True)
        total = int(re.search(r'id="task-count">[^<]*<b>(\d+)</b>', body).group(1))  # type: ignore[union-attr]
        times.sort()
        results[label] = (statistics.median(times), p95(times), total)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--counties", type=int, default=0)
    args = parser.parse_args()
    for kind in args.databases.split(","):
        with scratch_database(kind, "tasklist") as (url, instance):
            app = build(url, instance, args.rows, args.counties)
            for label, (median, p95, total) in measure(app, args.repeat).items():
                print(f"{kind:10s} {args.rows} open tasks, {args.counties} counties | "
                      f"{label:22s} | true count {total:5d}"
                      f" | median {median:6.1f} ms | p95 {p95:6.1f} ms")
            from server.extensions import db

            with app.app_context():
                db.engine.dispose()


if __name__ == "__main__":
    main()
