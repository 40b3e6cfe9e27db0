"""What one task completion costs, from SpiffWorkflow alone to guanjia over HTTP.

Prints medians (ms per completion) for a case of N parallel items, three user tasks each:
  (a) SpiffWorkflow alone, in memory
  (b) the naive persisted cycle: deserialize -> complete -> engine steps -> serialize
  (c) guanjia's service layer (authorization, form validation, rows, audit) on SQLite / PostgreSQL
  (d) guanjia through HTTP: granian on 127.0.0.1 as in production, keep-alive client, SQLite
Run: python bench/engine.py [--items 10 100] [--rounds 3] [--no-postgres]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.task import TaskState  # noqa: E402

from server.engine.parser import parse_files  # noqa: E402
from server.engine.runtime import _make_serializer  # noqa: E402
from server.engine.scripting import make_script_engine  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
DEPARTMENTS = ["dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj", "dept_scjg"]
USERS = {"dept_fgj": "fgj", "dept_zrzy": "zrzy", "dept_zjj": "zjj", "dept_sthj": "sthj",
         "dept_scjg": "scjg"}
ANSWERS = {"review": {"approved": True}, "take_sheet": {"receiver": "bench"},
           "handle_item": {"outcome": "approved"}, "report_result": {}, "close_case": {}}
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def items(n: int) -> list[dict[str, Any]]:
    return [{"code": f"item{i}", "name": f"事项{i}", "department": DEPARTMENTS[i % 5],
             "promised_days": 3} for i in range(n)]


def spec_set() -> Any:
    path = FIXTURES / "processes" / "parallel_items.bpmn"
    return parse_files({path.name: path.read_bytes()})


def order_key(task: Any) -> tuple[int, str]:
    # Breadth first: every item's sheet, then every handling, then every report.
    order = ["review", "take_sheet", "handle_item", "report_result", "close_case"]
    return order.index(task.task_spec.name), str(task.id)


def raw_workflow(n: int) -> BpmnWorkflow:
    specs = spec_set()
    wf = BpmnWorkflow(specs.specs["parallel_case"], specs.subprocess_specs["parallel_case"],
                      script_engine=make_script_engine())
    wf.task_tree.data.update({"project_name": "bench", "items": items(n)})
    for task in wf.get_tasks(state=TaskState.READY):
        task.data.update({"project_name": "bench", "items": items(n)})
    wf.do_engine_steps()
    return wf


def next_ready(wf: BpmnWorkflow) -> Any:
    ready = wf.get_tasks(state=TaskState.READY, manual=True)
    ready = [t for t in ready if t.task_spec.name in ANSWERS]
    return min(ready, key=order_key) if ready else None


def bench_in_memory(n: int) -> list[float]:
    wf = raw_workflow(n)
    times = []
    while (task := next_ready(wf)) is not None:
        start = time.perf_counter()
        task.data.update(ANSWERS[task.task_spec.name])
        task.run()
        wf.refresh_timers()
        wf.do_engine_steps()
        times.append((time.perf_counter() - start) * 1000)
    return times


def bench_naive(n: int) -> list[float]:
    serializer = _make_serializer()
    state = serializer.serialize_json(raw_workflow(n))
    times = []
    while True:
        start = time.perf_counter()
        wf = serializer.deserialize_json(state)
        wf.script_engine = make_script_engine()
        task = next_ready(wf)
        if task is None:
            break
        task.data.update(ANSWERS[task.task_spec.name])
        task.run()
        wf.refresh_timers()
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        times.append((time.perf_counter() - start) * 1000)
    return times


def make_app(url: str, instance: Path) -> Any:
    from server import create_app
    from server.cli import deploy_shipped, upgrade_database
    from server.config import Settings
    from server.extensions import db
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_enterprise, ensure_user

    settings = Settings.from_env({
        "GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": url,
        "GUANJIA_INSTANCE_DIR": str(instance), "GUANJIA_SECRET_KEY": "bench",
        "GUANJIA_PROCESSES_DIR": str(FIXTURES / "processes"),
        "GUANJIA_FORMS_DIR": str(FIXTURES / "forms"),
    })
    app = create_app(settings)
    upgrade_database(app)
    deploy_shipped(app)
    with app.app_context():
        ensure_standard_groups()
        ensure_user("qiye", "企业", "bench-password", ["enterprise"],
                    enterprise=ensure_enterprise("企业"))
        ensure_user("zhaoshang", "招商", "bench-password", ["bureau"])
        ensure_user("zhuanchuang", "专窗", "bench-password", ["window"])
        for dept, user in USERS.items():
            ensure_user(user, user, "bench-password", [dept])
        db.session.commit()
    return app


def user_for(item: Any) -> str:
    groups = item.group_codes
    if "bureau" in groups:
        return "zhaoshang"
    if "window" in groups:
        return "zhuanchuang"
    return USERS[groups[0]]


def bench_service(app: Any, n: int) -> list[float]:
    from sqlalchemy import select

    from server.extensions import db
    from server.models import User, WorkItem
    from server.services.cases import start_case
    from server.services.tasks import complete_task

    times = []
    with app.app_context():
        users = {u.username: u for u in db.session.execute(select(User)).scalars()}
        case = start_case(users["qiye"], "parallel_case",
                          {"project_name": "bench", "investment_wan": 1, "items": items(n)})
        order = ["review", "take_sheet", "handle_item", "report_result", "close_case"]
        while True:
            ready = db.session.execute(select(WorkItem).where(
                WorkItem.case_id == case.id, WorkItem.state == "ready")).scalars().all()
            ready = [w for w in ready if w.element_id in ANSWERS]
            if not ready:
                break
            item = min(ready, key=lambda w: (order.index(w.element_id), w.id))
            user = users[user_for(item)]
            start = time.perf_counter()
            complete_task(user, item.id, ANSWERS[item.element_id])
            times.append((time.perf_counter() - start) * 1000)
        db.session.remove()
    return times


def bench_http(app: Any, n: int) -> list[float]:
    """Through a real server: granian (as in production), one worker, keep-alive."""
    import os
    import socket
    import subprocess

    from bench.http_load import granian

    settings = app.config["GUANJIA"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": settings.database_url,
           "GUANJIA_INSTANCE_DIR": str(settings.instance_dir), "GUANJIA_SECRET_KEY": "bench",
           "GUANJIA_PROCESSES_DIR": str(settings.processes_dir),
           "GUANJIA_FORMS_DIR": str(settings.forms_dir)}
    server = subprocess.Popen(
        granian(1, 4, port), cwd=ROOT, env=env)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    deadline = time.monotonic() + 30
    while True:
        try:
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            break
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port)
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.2)

    def call(method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, f"/api/v1{path}", body=json.dumps(body) if body is not None
                     else None, headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read() or b"null")
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {payload}")
        return payload

    tokens = {u: call("POST", "/auth/token", body={"username": u, "password": "bench-password"})
              ["token"] for u in ["qiye", "zhaoshang", "zhuanchuang", *USERS.values()]}
    case = call("POST", "/cases", tokens["qiye"], {"process_id": "parallel_case", "data": {
        "project_name": "bench", "investment_wan": 1, "items": items(n)}})
    order = ["review", "take_sheet", "handle_item", "report_result", "close_case"]
    times = []
    while True:
        ready = []
        for user, token in tokens.items():
            listed = call("GET", f"/tasks?per_page=200&case_id={case['id']}", token)["items"]
            ready.extend((t, user) for t in listed if t["element_id"] in ANSWERS)
        if not ready:
            break
        task, user = min(ready, key=lambda p: (order.index(p[0]["element_id"]), p[0]["id"]))
        start = time.perf_counter()
        call("POST", f"/tasks/{task['id']}/complete", tokens[user],
             {"data": ANSWERS[task["element_id"]]})
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    server.terminate()
    server.wait(timeout=20)
    return times


def shown(value: float) -> str:
    """A figure with two decimals, or "—" where it was not measured (never "nan")."""
    return "—" if value != value else f"{value:.2f}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pg_database(name: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return f"{PG}/{name}"


def verdicts(found: dict[int, dict[str, float]]) -> None:
    """The targets of the foundation issue, checked against this run's figures."""
    def line(ok: bool, text: str) -> None:
        print(f"  [{'met' if ok else 'NOT met'}] {text}")

    print("targets:")
    for n, m in found.items():
        line(m["cs"] < m["b"], f"{n} items: (c) SQLite {m['cs']:.2f} < (b) {m['b']:.2f}")
        if m["cp"] == m["cp"]:  # measured (not NaN)
            line(m["cp"] < m["b"], f"{n} items: (c) PostgreSQL {m['cp']:.2f} < (b) {m['b']:.2f}")
        if m["d"] == m["d"]:
            line(m["d"] <= 15, f"{n} items: (d) HTTP {m['d']:.2f} <= 15 ms")
    if len(found) >= 2:
        small, large = min(found), max(found)
        ratio = (found[large]["cs"] - found[large]["a"]) / (found[small]["cs"] - found[small]["a"])
        line(ratio <= 1.5, f"guanjia's overhead (c)-(a) at {large} items is {ratio:.2f}x "
             f"that at {small} items (at most 1.5x)")
    for n, m in found.items():
        print(f"  [aim] {n} items: (c) SQLite is {m['cs'] / m['a']:.1f}x (a) (aim: within 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="guanjia-bench-"))
    try:
        sqlite_app = make_app(f"sqlite:///{workdir / 'bench.sqlite'}", workdir / "sqlite")
        pg_app = None if args.no_postgres else make_app(pg_database("guanjia_bench"),
                                                        workdir / "pg")
        print(f"{'items':>5} {'tasks':>5} {'(a) mem':>9} {'(b) naive':>10} "
              f"{'(c) sqlite':>11} {'(c) pg':>8} {'(d) http':>9} {'(c)-(a) sqlite':>15}")
        found: dict[int, dict[str, float]] = {}
        for n in args.items:
            rows: dict[str, list[float]] = {k: [] for k in ("a", "b", "cs", "cp", "d")}
            tasks = 0
            for _ in range(args.rounds):
                a = bench_in_memory(n)
                tasks = len(a)
                rows["a"] += a
                rows["b"] += bench_naive(n)
                rows["cs"] += bench_service(sqlite_app, n)
                if pg_app is not None:
                    rows["cp"] += bench_service(pg_app, n)
                if n <= 30:
                    rows["d"] += bench_http(sqlite_app, n)
            m = found[n] = {k: median(v) for k, v in rows.items()}
            print(f"{n:>5} {tasks:>5} {shown(m['a']):>9} {shown(m['b']):>10} "
                  f"{shown(m['cs']):>11} {shown(m['cp']):>8} {shown(m['d']):>9} "
                  f"{shown(m['cs'] - m['a']):>15}", flush=True)
        print("ms per task completion, medians over all completions of "
              f"{args.rounds} case(s) per row; (d) measured for cases up to 30 items")
        verdicts(found)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
