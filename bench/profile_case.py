"""Where the server's CPU goes in a finished case of bench/http_load.py's diagram, in-process.

The app runs under Flask's test client (no WSGI server, no sockets) with cProfile on: start a
case, and for each of its 12 tasks the list call and the complete call, as the HTTP bench's
clients do. Prints the SQL statements each kind of request sends (every statement saved is
CPU on both sides), then the functions by own time and by cumulative time.

Run: python bench/profile_case.py [--cases 40] [--postgres] [--top 40] [--statements]
     [--plain 5] (CPU per case without the profiler: 5 batches of --cases; with --postgres
     also the database backends' CPU)
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_load import (  # noqa: E402
    ANSWERS,
    CLIENT_USERS,
    DIAGRAM,
    PASSWORD,
    backend_pids,
    cpu_of,
    drop_pg,
    load,
    pg_url,
    prepare_database,
    settings_env,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--plain", type=int, metavar="BATCHES", default=0,
                        help="no profiler: process CPU per case, median of BATCHES batches")
    parser.add_argument("--statements", action="store_true",
                        help="list each statement's text with its count per case")
    parser.add_argument("--dump", help="write the raw profile here (for pstats)")
    args = parser.parse_args()
    from server import create_app
    from server.config import Settings

    instance = Path(tempfile.mkdtemp(prefix="guanjia-profile-"))
    url = pg_url() if args.postgres else f"sqlite:///{instance / 'bench.db'}"
    if args.postgres:
        atexit.register(drop_pg)
    prepare_database(url, instance)
    app = create_app(Settings.from_env(settings_env(url, instance)))
    client = app.test_client()
    # Statements sent per kind of request (start, list, complete), counted at the cursor.
    counting: dict[str, Any] = {"on": False, "kind": None, "sql": Counter(), "calls": Counter(),
                                "texts": Counter()}
    with app.app_context():
        from sqlalchemy import event

        from server.extensions import db

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if counting["kind"] is not None:
                counting["sql"][counting["kind"]] += 1
                counting["texts"][(counting["kind"], " ".join(statement.split())[:110])] += 1

    def call(method: str, path: str, token: str | None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kind = ("complete" if path.endswith("/complete") else "list" if path.startswith("/tasks")
                else "start" if path == "/cases" else None) if counting["on"] else None
        counting["kind"] = kind
        if kind is not None:
            counting["calls"][kind] += 1
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        counting["kind"] = None
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.json}")
        return response.json

    def token(username: str) -> str:
        return str(call("POST", "/auth/token", None,
                        {"username": username, "password": PASSWORD})["token"])

    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(DIAGRAM.glob("*.bpmn"))}
    call("POST", "/deployments", token("bench-designer"), {"files": files, "comment": "profile"})
    person = token(CLIENT_USERS[0])

    def one_case() -> int:
        case = call("POST", "/cases", person, {"process_id": "bench_approval",
                                               "data": {"project_name": "性能测试"}})
        done = 0
        while listed := call("GET", f"/tasks?case_id={case['id']}&per_page=20", person)["items"]:
            task = listed[0]
            call("POST", f"/tasks/{task['id']}/complete", person,
                 {"data": ANSWERS[task["element_id"].split(" ")[0]]})
            done += 1
        return done

    counting["on"] = False
    for _ in range(3):  # warm: parsed diagram, compiled statements, caches
        one_case()
    counting["on"] = True
    for _ in range(3):
        one_case()
    counting["on"] = False
    sql, calls = counting["sql"], counting["calls"]
    print(f"SQL statements per finished case: {sum(sql.values()) / 3:.1f} "
          f"({', '.join(f'{k} {sql[k] / calls[k]:.1f} x {calls[k] // 3}' for k in calls)} "
          "per request)")
    if args.statements:
        for (kind, text), n in sorted(counting["texts"].items(), key=lambda kv: -kv[1]):
            print(f"  {n / 3:5.1f}  {kind:<8} {text}")
    if args.plain:
        per_case, backend_per_case = [], []
        for _ in range(args.plain):
            # On PostgreSQL, also the CPU of the bench database's backends (the app's pool).
            backends = backend_pids() if args.postgres else []
            cpu, backend_cpu = time.process_time(), cpu_of(backends)
            for _ in range(args.cases):
                one_case()
            per_case.append((time.process_time() - cpu) * 1000 / args.cases)
            backend_per_case.append((cpu_of(backends) - backend_cpu) * 1000 / args.cases)
        print(f"process CPU per case without the profiler: median "
              f"{statistics.median(per_case):.1f} ms, least {min(per_case):.1f} ms "
              f"({args.plain} batches of {args.cases} cases); {load()}")
        if args.postgres:
            print(f"PostgreSQL backend CPU per case: median "
                  f"{statistics.median(backend_per_case):.1f} ms, least "
                  f"{min(backend_per_case):.1f} ms")
        return
    # Timed in this process's CPU, not wall time: waiting (a commit's write, a shared
    # machine's other processes) is no cost of ours.
    profile = cProfile.Profile(time.process_time)
    started, cpu = time.perf_counter(), time.process_time()
    profile.enable()
    tasks = sum(one_case() for _ in range(args.cases))
    profile.disable()
    cpu = time.process_time() - cpu
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    print(f"{args.cases} cases, {tasks} completions in {time.perf_counter() - started:.1f} s; "
          f"process CPU {cpu * 1000 / args.cases:.1f} ms per case under the profiler; "
          f"{calls / args.cases / 1000:.1f} thousand Python function calls per case (the "
          f"Flask test client's included; unlike CPU, not moved by the machine's load); "
          f"{load()}")
    if args.dump:
        profile.dump_stats(args.dump)
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
