"""How fast the dashboard and the case list answer with 10,000 cases in the database.

Builds a fresh database (a throw-away PostgreSQL database, or an SQLite file), inserts 10,000
cases straight into the tables (four in five running, each with two open approval items of
the catalog due at the close of a day from ten days ago to thirty days ahead, and one
finished item each), signs in as a leader through the login form and times the pages.
Target: under 300 ms.

    python bench/dashboard.py [--cases 10000] [--repeat 15] [--databases postgresql,sqlite]
                              [--counties N]

With ``--counties N`` (N ≥ 2) the cases are spread over N counties and the leader belongs to
the second (issue 21: the pages count that county's 1/N share, e.g. ``--cases 20000
--counties 10`` is one county's 2,000 among a prefecture's 20,000, cases like those of
``--cases 2000`` alone (four in five running), so the two runs' figures
compare); without, the leader is prefecture-wide. With counties, a prefecture leader's pages
are timed too: the roll-up (the pooled dashboard with every county's row) and one county's
dashboard opened from it.

Prints the fastest, the median and the 95th percentile in milliseconds per database and page,
with the count the page shows (on a shared, loaded machine the fastest varies least).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.scratch import p95, scratch_database  # noqa: E402
from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402

PASSWORD = "bench-password"
INDUSTRIES = ["manufacturing", "energy", "agriculture", "culture_tourism", "logistics",
              "health", "infrastructure", "other"]
PAGES = [("dashboard", "/dashboard", r'data-count="items-total"[^>]*>(\d+)'),
         ("case list, page 1", "/cases", r'<b id="total">(\d+)</b>'),
         ("case list, page 200", "/cases?page=200", r'<b id="total">(\d+)</b>'),
         ("cases, running + red", "/cases?status=running&light=red", r'<b id="total">(\d+)</b>'),
         ("cases, search", "/cases?q=GJ-B-00123", r'<b id="total">(\d+)</b>'),
         ("cases, department", "/cases?department=dept_zjj", r'<b id="total">(\d+)</b>'),
         ("cases, stage + red", "/cases?stage=%E6%96%BD%E5%B7%A5%E8%AE%B8%E5%8F%AF&light=red",
          r'<b id="total">(\d+)</b>'),
         ("red items list", "/dashboard/items?light=red", r'<b id="total">(\d+)</b>')]
#: The prefecture leader's pages (with ``--counties``): the roll-up and one county from it.
PREFECTURE_PAGES = [
    ("prefecture roll-up", "/dashboard", r'data-count="items-total"[^>]*>(\d+)'),
    ("prefecture, county1", "/dashboard?county=county1",
     r'data-count="items-total"[^>]*>(\d+)')]


def build(url: str, instance: Path, count: int, counties: int = 0):  # type: ignore[no-untyped-def]
    from server.cli import deploy_shipped, upgrade_database
    from server.extensions import db
    from server.models import Case, Deployment, WorkItem, WorkItemGroup
    from server.services.catalog import current_catalog
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_user

    settings = Settings.from_env({
        "GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": url, "GUANJIA_INSTANCE_DIR": str(instance),
        "GUANJIA_SECRET_KEY": "bench", "GUANJIA_PROCESSES_DIR": str(ROOT / "processes"),
        "GUANJIA_FORMS_DIR": str(ROOT / "forms"),
        "GUANJIA_BROKER_URL": f"sqla+sqlite:///{instance / 'broker.sqlite'}"})
    app = create_app(settings)
    upgrade_database(app)
    deploy_shipped(app)
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
        # Runs of five cases to a county in turn: each county holds its
        # share of running, finished and terminated cases, of every deadline, interleaved
        # with the others' in the tables as cases filed over time are.
        ensure_user("lingdao", "领导", PASSWORD, ["leader"], county=codes[1] if codes else None)
        if codes:
            ensure_user("zhoulingdao", "州领导", PASSWORD, ["leader"], county=None)
        db.session.commit()
        deployment_id = db.session.execute(sa.select(Deployment.id).limit(1)).scalar_one()
        catalog = current_catalog().items
        cases, items, links = [], [], []

        def item(case_id: str, n: int, state: str, summary: dict[str, str]) -> None:
            known = catalog[n % len(catalog)]
            item_id = str(uuid.uuid4())
            # Deadlines end at the close of office (17:30 local), as the engine sets them.
            due = datetime.combine((now + timedelta(days=(n * 7) % 40 - 10)).date(),
                                   dt_time(9, 30), UTC)
            items.append({
                "id": item_id, "case_id": case_id, "element_id": "handle_item",
                "name": "部门办理审批事项", "lane": "", "form_key": "item_handling",
                "candidate_groups": known.department, "assignee": None, "claimed_by": None,
                "state": state, "stage": "handling", "due_at": due, "due_provisional": False,
                "created_at": now - timedelta(days=20),
                "completed_at": due - timedelta(hours=n % 48 - 12) if state != "ready" else None,
                "context": json.dumps({**summary, "item": {
                    "code": known.code, "name": known.name, "department": known.department}},
                    ensure_ascii=False)})
            links.append({"work_item_id": item_id, "group_code": known.department,
                          "state": state})

        for n in range(count):
            case_id = str(uuid.uuid4())
            running = n % 5 != 0
            summary = {"project_name": f"基准项目 {n}", "enterprise_name": f"基准企业{n}有限公司",
                       "credit_code": f"91530100MA{n:08d}", "industry": INDUSTRIES[n % 8]}
            started = now - timedelta(days=n % 90)
            cases.append({
                "id": case_id, "reference": f"GJ-B-{n:06d}", "deployment_id": deployment_id,
                "process_id": "concierge_service", "title": summary["project_name"],
                "status": "running" if running else ("completed" if n % 2 else "terminated"),
                "area": f"片区{n % 6}", "started_by": "qiye", "started_at": started,
                "county": codes[(n // 5) % len(codes)] if codes else None,
                "ended_at": None if running else started + timedelta(days=30),
                "state_version": 0, "event_count": 0, "envelope": "{}",
                "summary": json.dumps(summary, ensure_ascii=False)})
            if running:
                item(case_id, 2 * n, "ready", summary)
                item(case_id, 2 * n + 1, "ready", summary)
            item(case_id, 3 * n + 2, "completed", summary)
        for start in range(0, len(cases), 2000):
            db.session.execute(sa.insert(Case), cases[start:start + 2000])
        for start in range(0, len(items), 2000):
            db.session.execute(sa.insert(WorkItem), items[start:start + 2000])
            db.session.execute(sa.insert(WorkItemGroup), links[start:start + 2000])
        db.session.commit()
        db.session.remove()
        # Fresh statistics and visibility maps, as autovacuum (PostgreSQL) or a periodic
        # ANALYZE would give them; without VACUUM, autovacuum wakes on the 26,000 new rows
        # in the middle of the timings and index-only scans read the table anyway.
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            # In a transaction that commits: the app's SQLite connections begin one even in
            # AUTOCOMMIT (BEGIN IMMEDIATE, ``server.assembly``), and closing rolled the
            # statistics back; without them SQLite looked a page's cases' tasks up by state
            # (every county's 32,000 open tasks: 60 ms instead of 1).
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    return app


Timings = dict[str, tuple[float, float, float, int]]


def measure(app, repeat: int, username: str = "lingdao",  # type: ignore[no-untyped-def]
            pages: list[tuple[str, str, str]] = PAGES) -> Timings:
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    signed = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token})
    assert signed.status_code == 302, signed.status_code
    results = {}
    for label, path, count in pages:
        client.get(path)  # warm caches (calendar, catalog, forms, templates, query plans)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        found = re.search(count, response.get_data(as_text=True))
        times.sort()
        results[label] = (times[0], statistics.median(times),
                          p95(times),
                          int(found.group(1)) if found else -1)
    return results


def _load() -> str:
    """The machine's load (1, 5, 15 minutes): timings on a shared machine mean little alone."""
    return "load average " + " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--counties", type=int, default=0)
    args = parser.parse_args()
    for kind in args.databases.split(","):
        with scratch_database(kind, "dash") as (url, instance):
            started = time.perf_counter()
            app = build(url, instance, args.cases, args.counties)
            print(f"{kind}: seeded {args.cases} cases in {time.perf_counter() - started:.1f} s")
            print(f"{kind}: {os.cpu_count()} CPUs, {_load()} before the timings")
            timed = measure(app, args.repeat)
            if args.counties > 1:
                timed.update(measure(app, args.repeat, "zhoulingdao", PREFECTURE_PAGES))
            for label, (least, median, p95, total) in timed.items():
                print(f"{kind:10s} {args.cases} cases, {args.counties} counties | "
                      f"{label:22s} | shows {total:6d}"
                      f" | min {least:6.1f} ms | median {median:6.1f} ms | p95 {p95:6.1f} ms")
            print(f"{kind}: {_load()} after the timings")
            from server.extensions import db

            with app.app_context():
                db.engine.dispose()


if __name__ == "__main__":
    main()
