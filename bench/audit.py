"""What writing the audit trail costs in a task completion.

Completes every task of cases with N parallel items through the service layer
(``tasks.complete_task``: authorization, form validation, engine step, rows, audit) twice: with
the real ``record_event`` and with the audit writes removed (only the case's event counter
kept). Prints medians (ms per completion), the audit's share, and the time spent inside
``record_event`` itself (hashing included; the INSERT runs in the commit). Budget: 20%.
Run: python bench/audit.py [--items 12] [--rounds 3] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
USERS = [("qiye", ["enterprise"]), ("zhaoshang", ["bureau"]), ("zhuanchuang", ["window"]),
         ("guanjia", ["steward"]), ("fgj", ["dept_fgj"]), ("zrzy", ["dept_zrzy"])]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def build_app(kind: str, tmp: Path) -> Any:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
    else:
        admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS guanjia_bench_audit WITH (FORCE)")
            conn.exec_driver_sql("CREATE DATABASE guanjia_bench_audit")
        admin.dispose()
        url = f"{PG}/guanjia_bench_audit"
    settings = Settings.from_env({
        "GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": url, "GUANJIA_INSTANCE_DIR": str(tmp),
        "GUANJIA_SECRET_KEY": "bench", "GUANJIA_PROCESSES_DIR": str(FIXTURES / "processes"),
        "GUANJIA_FORMS_DIR": str(FIXTURES / "forms"),
        "GUANJIA_BROKER_URL": f"sqla+sqlite:///{tmp / 'broker.sqlite'}"})
    app = create_app(settings)
    from server.cli import deploy_shipped, upgrade_database
    from server.extensions import db
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_user

    upgrade_database(app)
    deploy_shipped(app)
    with app.app_context():
        ensure_standard_groups()
        for name, groups in USERS:
            ensure_user(name, name, "bench-password", groups)
        db.session.commit()
    return app


def run_case(app: Any, n_items: int) -> list[float]:
    """Start a case and complete all its tasks; returns seconds per completion."""
    from sqlalchemy import select

    from server.extensions import db
    from server.models import User, WorkItem
    from server.services import cases, tasks

    depts = [("dept_fgj", "fgj"), ("dept_zrzy", "zrzy")]
    items = [{"code": f"i{k}", "name": f"事项{k}", "department": depts[k % 2][0],
              "promised_days": 3} for k in range(n_items)]
    forms = {"review": {"approved": True, "review_note": "符合"}, "take_sheet": {"receiver": "x"},
             "handle_item": {"outcome": "approved"}, "report_result": {},
             "close_case": {"closing_note": "办结"}, "urge_department": {}}
    owner = {"review": "zhaoshang", "close_case": "zhuanchuang", "urge_department": "guanjia"}
    with app.app_context():
        users = {u.username: u for u in db.session.execute(select(User)).scalars()}
        case = cases.start_case(users["qiye"], "parallel_case",
                                {"project_name": "基准", "investment_wan": 1, "items": items})
        timings = []
        while True:
            item = db.session.execute(select(WorkItem).where(
                WorkItem.case_id == case.id, WorkItem.state == "ready")
                .order_by(WorkItem.created_at).limit(1)).scalar_one_or_none()
            if item is None:
                break
            user = owner.get(item.element_id) or next(
                u for d, u in depts if d in item.candidate_groups.split(","))
            started = time.perf_counter()
            tasks.complete_task(users[user], item.id, forms[item.element_id])
            timings.append(time.perf_counter() - started)
        db.session.remove()
    return timings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = ap.parse_args()

    import server.services.audit as audit_module
    import server.services.cases as cases_module
    import server.services.tasks as tasks_module

    real = audit_module.record_event
    inside: list[float] = []

    def timed(*a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return real(*a, **kw)
        finally:
            inside.append(time.perf_counter() - started)

    def no_audit(case: Any, *_a: Any, **_kw: Any) -> None:
        if case is not None:  # keep the counter the case row carries; write no event
            case.event_count = (case.event_count or 0) + 1

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(args.database, Path(tmp))
        run_case(app, 2)  # warm up: parse, caches, connections
        results: dict[str, list[float]] = {"with audit": [], "without audit": []}
        audit_seconds = 0.0
        completions_with = 0
        for _ in range(args.rounds):
            for label, fn in (("with audit", timed), ("without audit", no_audit)):
                cases_module.record_event = fn  # type: ignore[assignment]
                tasks_module.record_event = fn  # type: ignore[assignment]
                inside.clear()
                timings = run_case(app, args.items)
                results[label] += timings
                if label == "with audit":
                    audit_seconds += sum(inside)
                    completions_with += len(timings)
        cases_module.record_event = real  # type: ignore[assignment]
        tasks_module.record_event = real  # type: ignore[assignment]
    with_ms = statistics.median(results["with audit"]) * 1000
    without_ms = statistics.median(results["without audit"]) * 1000
    share = (with_ms - without_ms) / with_ms
    in_record = audit_seconds / completions_with * 1000
    print(f"{args.database}, {args.items} items, {len(results['with audit'])} completions per "
          "variant")
    print(f"  completion with audit      {with_ms:7.2f} ms (median)")
    print(f"  completion without audit   {without_ms:7.2f} ms (median)")
    print(f"  audit share                {share:7.1%}  (budget 20%)")
    print(f"  inside record_event        {in_record:7.2f} ms per completion "
          f"({in_record / with_ms:.1%} of a completion)")
    sys.exit(0 if share <= 0.20 else 1)


if __name__ == "__main__":
    main()
