"""Where the server's CPU goes in a finished case of bench/http_load.py's diagram, in-process.

The app runs under Flask's test client (no WSGI server, no sockets) with cProfile on: start a
case, and for each of its 12 tasks the list call and the complete call, as the HTTP bench's
clients do. Prints the functions by own time and by cumulative time.

Run: python bench/profile_case.py [--cases 40] [--postgres] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_load import (  # noqa: E402
    ANSWERS,
    CLIENT_USERS,
    DIAGRAM,
    PASSWORD,
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
    parser.add_argument("--dump", help="write the raw profile here (for pstats)")
    args = parser.parse_args()
    from server import create_app
    from server.config import Settings

    instance = Path(tempfile.mkdtemp(prefix="guanjia-profile-"))
    url = pg_url() if args.postgres else f"sqlite:///{instance / 'bench.db'}"
    prepare_database(url, instance)
    app = create_app(Settings.from_env(settings_env(url, instance)))
    client = app.test_client()

    def call(method: str, path: str, token: str | None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
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

    for _ in range(3):  # warm: parsed diagram, compiled statements, caches
        one_case()
    profile = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profile.enable()
    tasks = sum(one_case() for _ in range(args.cases))
    profile.disable()
    cpu = time.process_time() - cpu
    print(f"{args.cases} cases, {tasks} completions in {time.perf_counter() - started:.1f} s; "
          f"process CPU {cpu * 1000 / args.cases:.1f} ms per case under the profiler; {load()}")
    if args.dump:
        profile.dump_stats(args.dump)
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
