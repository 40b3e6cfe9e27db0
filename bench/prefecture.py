"""A prefecture on one installation (issue 21): does a county keep its single-county speed?

Two scenarios, each on a throw-away PostgreSQL database, served by granian (``--web-workers``
processes, 4 threads each) with a Celery worker (``--worker-concurrency`` processes) on Redis:

  prefecture  10 counties × 2,000 cases × 30 approval items (600,000 work items)
  alone       one county × 2,000 cases × 30 items (60,000): the same county by itself

Each county's cases are like ``bench/dashboard.py``'s: four in five running, each running case
with 3 of its 30 items open (due from ten days ago to thirty days ahead) and 27 done, ended
cases with all 30 done; inserted with COPY. Then, over HTTP, as people of the measured county
(``county1``): the task list of a department agent (``/tasks?scope=groups``), the leader's
dashboard (``/dashboard``) and case list (``/cases``), each ``--repeat`` times; and
completions through the JSON API on real cases (the test diagram ``parallel_case``: the
bureau's acceptance, which opens two department items with their 30-minute timers, and the
departments taking their task sheets).

The sweep: every county files real cases and has them accepted (``--backlog`` cases in
``county0``, a backlog; two in each other county), the clock moves 31 minutes on, and one beat
tick runs exactly as ``guanjia.timers.sweep`` does (claim, then the batches to the workers);
the bench then watches the audit log and prints the tick's time and, per county, how long
until its timers had fired: with counties in turn, a county with two cases waits for the first
batch only, not for the backlog.

Prints fastest, median and p95 in ms per figure and scenario (the machine is shared: fastest
varies least), with ``uptime``'s load, then a verdict per figure: the county among ten against
the county alone (fastest and median ratio; within 1.5× counts as keeping its speed).

    python bench/prefecture.py [--counties 10] [--cases 2000] [--items 30] [--repeat 20]
        [--completions 12] [--backlog 120] [--web-workers 3] [--worker-concurrency 2]
        [--scenarios prefecture,alone]

PostgreSQL at 127.0.0.1:5432 (``GUANJIA_TEST_PG``) and Redis at 127.0.0.1:6379
(``GUANJIA_TEST_REDIS``; the bench uses a queue and key prefix of its own and deletes them).
About 5 to 8 minutes with the defaults on the shared 2-core machine (load 5 to 8).
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.http_load import granian, wait_until_serving  # noqa: E402
from bench.scratch import p95  # noqa: E402
from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402

PG_SERVER = os.environ.get("GUANJIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("GUANJIA_TEST_REDIS", "redis://127.0.0.1:6379/0")
FIXTURES = ROOT / "tests" / "fixtures"
PASSWORD = "bench-password"
MEASURED = "county1"
INDUSTRIES = ["manufacturing", "energy", "agriculture", "culture_tourism", "logistics",
              "health", "infrastructure", "other"]
OPEN_PER_CASE = 3
ITEMS = [{"code": "project_filing", "name": "企业投资项目备案", "department": "dept_fgj",
          "promised_days": 3},
         {"code": "land_planning", "name": "建设用地规划许可证", "department": "dept_zrzy",
          "promised_days": 5}]
PAGES = [("task list (agent)", "fgj", "/tasks?scope=groups"),
         ("dashboard (leader)", "lingdao", "/dashboard"),
         ("case list (leader)", "lingdao", "/cases")]
KEEPS_SPEED = 1.5


def load() -> str:
    with open("/proc/loadavg") as f:
        return "load " + " ".join(f.read().split()[:3])


def stats(ms: list[float]) -> tuple[float, float, float]:
    ms = sorted(ms)
    return ms[0], statistics.median(ms), p95(ms)


# ---- the database ---------------------------------------------------------------------------
def settings_env(url: str, instance: Path, queue: str) -> dict[str, str]:
    return {"GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": url,
            "GUANJIA_INSTANCE_DIR": str(instance), "GUANJIA_SECRET_KEY": "bench",
            # Every scenario signs its people in again: the sign-in limit is not measured.
            "GUANJIA_LOGIN_RATE": "10000 per minute",
            "GUANJIA_PROCESSES_DIR": str(FIXTURES / "processes"),
            "GUANJIA_FORMS_DIR": str(FIXTURES / "forms"),
            "GUANJIA_BROKER_URL": REDIS_URL,
            "GUANJIA_CELERY_TASK_DEFAULT_QUEUE": queue,
            "GUANJIA_CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(
                {"global_keyprefix": f"{queue}:"})}


def build(url: str, env: dict[str, str], codes: list[str], cases_per_county: int,
          items_per_case: int) -> None:
    """Counties, people, and each county's cases with their work items (COPY)."""
    from server.cli import deploy_shipped, upgrade_database
    from server.extensions import db
    from server.models import Case, County, Deployment
    from server.services.catalog import current_catalog
    from server.services.counties import DAYAO
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_enterprise, ensure_user

    app = create_app(Settings.from_env(env))
    upgrade_database(app)
    deploy_shipped(app)
    now = datetime.now(UTC)
    with app.app_context():
        ensure_standard_groups()
        for n, code in enumerate(codes):
            db.session.add(County(**{**DAYAO, "code": code, "name": f"县{code[6:]}",
                                     "is_default": n == 0}, revision=1, updated_by="bench"))
        db.session.flush()
        for code in codes:
            ensure_user(f"qiye_{code}", "企业经办人", PASSWORD, ["enterprise"],
                        enterprise=ensure_enterprise(f"基准企业{code}"), county=code)
            ensure_user(f"zhaoshang_{code}", "招商", PASSWORD, ["bureau"], county=code)
            ensure_user(f"fgj_{code}", "发改局", PASSWORD, ["dept_fgj"], county=code)
            ensure_user(f"zrzy_{code}", "自然资源局", PASSWORD, ["dept_zrzy"], county=code)
        ensure_user("fgj", "发改局", PASSWORD, ["dept_fgj"], county=MEASURED)
        ensure_user("lingdao", "领导", PASSWORD, ["leader"], county=MEASURED)
        db.session.commit()
        deployment_id = db.session.execute(sa.select(Deployment.id).limit(1)).scalar_one()
        catalog = current_catalog().items
        naive_now = now.replace(tzinfo=None)
        cases: list[dict[str, Any]] = []
        # Runs of five cases to a county in turn, as cases filed over time interleave.
        for n in range(cases_per_county * len(codes)):
            running = n % 5 != 0
            summary = {"project_name": f"基准项目 {n}", "enterprise_name": f"基准企业{n}有限公司",
                       "credit_code": f"91530100MA{n:08d}", "industry": INDUSTRIES[n % 8]}
            started = now - timedelta(days=n % 90)
            cases.append({
                "id": str(uuid.uuid4()), "reference": f"GJ-B-{n:06d}",
                "deployment_id": deployment_id,
                "process_id": "parallel_case", "title": summary["project_name"],
                "status": "running" if running else ("completed" if n % 2 else "terminated"),
                "area": f"片区{n % 6}", "started_by": "qiye", "started_at": started,
                "county": codes[(n // 5) % len(codes)],
                "ended_at": None if running else started + timedelta(days=30),
                "state_version": 0, "event_count": 0, "envelope": "{}",
                "summary": json.dumps(summary, ensure_ascii=False)})

        def items(with_context: bool) -> Any:
            """Each case's items (twice, for the two COPYs: 600,000 rows are not kept)."""
            for n, case in enumerate(cases):
                running = case["status"] == "running"
                for k in range(items_per_case):
                    known = catalog[(n + k) % len(catalog)]
                    state = "ready" if running and k < OPEN_PER_CASE else "completed"
                    item_id = f"{case['id'][:32]}{k:04x}"
                    if not with_context:
                        yield item_id, known.department, state, case["county"]
                        continue
                    due = datetime.combine(
                        (now + timedelta(days=(n * 7 + k) % 40 - 10)).date(), dt_time(9, 30))
                    context = json.dumps({**json.loads(case["summary"]), "item": {
                        "code": known.code, "name": known.name,
                        "department": known.department}}, ensure_ascii=False)
                    yield (item_id, case["id"], "handle_item", "部门办理审批事项", "", "handle",
                           known.department, state, "handling", due, False,
                           naive_now - timedelta(days=20),
                           due - timedelta(hours=k % 48 - 12) if state != "ready" else None,
                           context, case["county"])

        for start in range(0, len(cases), 5000):
            db.session.execute(sa.insert(Case), cases[start:start + 5000])
        db.session.commit()
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(  # type: ignore[attr-defined]
                    "COPY work_items (id, case_id, element_id, name, lane, form_key, "
                    "candidate_groups, state, stage, due_at, due_provisional, created_at, "
                    "completed_at, context, county) FROM STDIN") as copy:
                for row in items(with_context=True):
                    copy.write_row(row)
            with cursor.copy(  # type: ignore[attr-defined]
                    "COPY work_item_groups (work_item_id, group_code, state, county) "
                    "FROM STDIN") as copy:
                for link in items(with_context=False):
                    copy.write_row(link)
            raw.commit()
        finally:
            raw.close()
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        db.engine.dispose()


# ---- the processes --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """The web server (granian, as in production) and one Celery worker (with its own fake
    clock file)."""

    def __init__(self, env: dict[str, str], instance: Path, web_workers: int,
                 concurrency: int) -> None:
        self.port = free_port()
        self.now_file = instance / "now.txt"
        self.now_file.write_text(datetime.now(UTC).isoformat(), encoding="utf-8")
        full = {**os.environ, **env}
        self.web = subprocess.Popen(
            granian(web_workers, 4, self.port), cwd=ROOT, env=full, start_new_session=True)
        log = open(instance / "worker.log", "ab")  # noqa: SIM115 (the child holds it)
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.main", "worker", "--pool",
             "prefork", "--concurrency", str(concurrency), "--loglevel", "INFO",
             "--hostname", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat"], cwd=ROOT,
            env={**full, "GUANJIA_FAKE_NOW_FILE": str(self.now_file)}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_until_serving(self.port, self.web, self.stop, seconds=90)

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.web, self.worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


class Api:
    """One keep-alive connection speaking the JSON API as one person."""

    def __init__(self, port: int, username: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.token = ""
        self.token = self.call("POST", "/auth/token",
                               {"username": username, "password": PASSWORD})["token"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request(method, f"/api/v1{path}", headers=headers,
                          body=None if body is None else json.dumps(body))
        response = self.conn.getresponse()
        payload = json.loads(response.read() or b"null")
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {payload}")
        return payload

    def task(self, case_id: str, element_id: str) -> str:
        for _ in range(100):  # a step the worker runs on may take a moment
            found = [t for t in self.call("GET", f"/tasks?case_id={case_id}&per_page=50")["items"]
                     if t["element_id"].split(" ")[0] == element_id]
            if found:
                return str(found[0]["id"])
            time.sleep(0.05)
        raise RuntimeError(f"no {element_id} task in {case_id}")

    def timed_complete(self, task_id: str, data: dict[str, Any]) -> float:
        started = time.perf_counter()
        self.call("POST", f"/tasks/{task_id}/complete", {"data": data})
        return (time.perf_counter() - started) * 1000


def browser(port: int, username: str) -> urllib.request.OpenerDirector:
    """A signed-in page session (cookies) through the login form."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/login", timeout=60).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    opener.open(f"{base}/login", data=urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrf_token": token}).encode(), timeout=60)
    return opener


# ---- the measurements -----------------------------------------------------------------------
def start_accepted(port: int, county: str, count: int) -> tuple[list[str], list[float]]:
    """``count`` cases filed in ``county`` and accepted by its bureau (the timed completion:
    it opens two department items, each with its 30-minute timer)."""
    enterprise, bureau = Api(port, f"qiye_{county}"), Api(port, f"zhaoshang_{county}")
    ids, timings = [], []
    for n in range(count):
        case = enterprise.call("POST", "/cases", {"process_id": "parallel_case", "data": {
            "project_name": f"{county} 实测项目 {n}", "investment_wan": 120000, "items": ITEMS}})
        ids.append(str(case["id"]))
        timings.append(bureau.timed_complete(bureau.task(case["id"], "review"),
                                             {"approved": True}))
    return ids, timings


def measure_county(port: int, repeat: int, completions: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    base = f"http://127.0.0.1:{port}"
    for label, username, path in PAGES:
        opener = browser(port, username)
        opener.open(base + path, timeout=60).read()  # warm caches and query plans
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = opener.open(base + path, timeout=60)
            response.read()
            times.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, (path, response.status)
        results[label] = times
    ids, accepted = start_accepted(port, MEASURED, completions)
    results["complete: acceptance"] = accepted
    sheets = []
    for group, person in (("dept_fgj", f"fgj_{MEASURED}"), ("dept_zrzy", f"zrzy_{MEASURED}")):
        agent = Api(port, person)
        for case_id in ids:
            sheets.append(agent.timed_complete(agent.task(case_id, "take_sheet"),
                                               {"receiver": group}))
    results["complete: task sheet"] = sheets
    return results


def sweep_once(env: dict[str, str], processes: Processes, codes: list[str],
               backlog: int) -> tuple[float, float, dict[str, int], dict[str, float]]:
    """Due timers in every county, one beat tick, and when each county's had all fired."""
    from server.engine import clock
    from server.extensions import db
    from server.services.timers import claim_due_timers
    from workers.dispatch import send
    from workers.tasks import batches

    for code in codes:
        # county0 carries the backlog (in the prefecture; alone, the county has its two).
        start_accepted(processes.port, code, backlog if code == "county0" else 2)
    # The Celery settings (queue, key prefix) come from the process environment.
    os.environ.update({k: v for k, v in env.items() if k.startswith("GUANJIA_CELERY_")})
    app = create_app(Settings.from_env(env))
    later = datetime.now(UTC) + timedelta(minutes=31)
    processes.now_file.write_text(later.isoformat(), encoding="utf-8")
    fired = sa.text("SELECT c.county, count(*) FROM audit_events a JOIN cases c "
                    "ON c.id = a.case_id WHERE a.type = 'timer_fired' GROUP BY c.county")
    with app.app_context():
        before = dict(db.session.execute(fired).all())  # type: ignore[arg-type]
        db.session.remove()
        previous = clock.set_clock(clock.FrozenClock(later))
        try:
            started = time.perf_counter()
            # Exactly what beat's ``guanjia.timers.sweep`` does (workers/tasks.py).
            sweep = claim_due_timers()
            for batch in batches(sweep.case_ids):
                send("guanjia.timers.fire_cases", [batch])
            tick = (time.perf_counter() - started) * 1000
        finally:
            clock.set_clock(previous)
        waiting = {str(c): n for c, n in sweep.by_county.items()}
        print(f"  one tick claimed {sweep.due} due timers by county {waiting} in "
              f"{sweep.seconds * 1000:.0f} ms (with sending {tick:.0f} ms); waiting for the "
              f"worker to fire them", flush=True)
        done: dict[str, float] = {}
        deadline = time.monotonic() + 300
        while len(done) < len(waiting) and time.monotonic() < deadline:
            now = (time.perf_counter() - started) * 1000
            for county, count in db.session.execute(fired).all():
                if county in waiting and county not in done \
                        and count - before.get(county, 0) >= waiting[county]:
                    done[county] = now
            db.session.remove()
            time.sleep(0.02)
        db.engine.dispose()
    return tick, sweep.seconds * 1000, waiting, done


def scenario(name: str, codes: list[str], args: argparse.Namespace,
             workdir: Path) -> dict[str, Any]:
    db_name = f"guanjia_bench_pref_{os.getpid()}_{name}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {db_name}")
    instance = workdir / name
    instance.mkdir()
    queue = f"guanjia-bench-{uuid.uuid4().hex[:8]}"
    env = settings_env(f"{PG_SERVER}/{db_name}", instance, queue)
    processes = None
    try:
        started = time.perf_counter()
        build(env["GUANJIA_DATABASE_URL"], env, codes, args.cases, args.items)
        print(f"{name}: {len(codes)} counties × {args.cases} cases × {args.items} items built "
              f"in {time.perf_counter() - started:.0f} s; {load()}", flush=True)
        processes = Processes(env, instance, args.web_workers, args.worker_concurrency)
        figures = measure_county(processes.port, args.repeat, args.completions)
        print(f"{name}: pages and completions measured; {load()}", flush=True)
        tick, claim, waiting, done = sweep_once(env, processes, codes, args.backlog)
        print(f"{name}: measured; {load()}", flush=True)
        return {"figures": figures, "tick": tick, "claim": claim, "waiting": waiting,
                "done": done}
    finally:
        if processes is not None:
            processes.stop()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{queue}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        admin.dispose()


def report(results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{'figure':<24} {'scenario':<11} {'n':>4} {'fastest':>8} {'median':>8} {'p95':>8}")
    labels = next(iter(results.values()))["figures"]
    for label in labels:
        for name, result in results.items():
            least, mid, p95 = stats(result["figures"][label])
            print(f"{label:<24} {name:<11} {len(result['figures'][label]):>4} "
                  f"{least:>8.1f} {mid:>8.1f} {p95:>8.1f}")
    print("\nsweep: one beat tick (claim + send) and, per county, ms until its due timers fired")
    for name, result in results.items():
        done, waiting = result["done"], result["waiting"]
        others = [done.get(c, float("inf")) for c in waiting if c != "county0"]
        backlog = (f"county0 (the backlog, {waiting['county0']} timers) "
                   f"{done.get('county0', float('inf')):.0f} ms; " if "county0" in waiting else "")
        rest = ("the other counties" if backlog else "the county") + (
            f": slowest {max(others, default=float('nan')):.0f} ms, fastest "
            f"{min(others, default=float('nan')):.0f} ms")
        print(f"  {name:<11} tick {result['tick']:7.1f} ms (claim {result['claim']:.1f} ms) for "
              f"{sum(waiting.values())} timers "
              f"in {len(waiting)} counties; {backlog}{rest}")
        missing = sorted(set(waiting) - set(done))
        if missing:
            print(f"  {name:<11} NOT all fired within 300 s: {', '.join(missing)}")
    if {"prefecture", "alone"} <= set(results):
        among_n = len(results["prefecture"]["waiting"])
        print(f"\nverdict (the county among {among_n} against it alone; keeps its speed within "
              f"{KEEPS_SPEED}× on the fastest):")
        for label in labels:
            among = stats(results["prefecture"]["figures"][label])
            alone = stats(results["alone"]["figures"][label])
            ratio, mid_ratio = among[0] / alone[0], among[1] / alone[1]
            state = "keeps" if ratio <= KEEPS_SPEED else "SLOWER"
            print(f"  [{state}] {label}: fastest {among[0]:.1f} vs {alone[0]:.1f} ms "
                  f"({ratio:.2f}×), median {among[1]:.1f} vs {alone[1]:.1f} ms "
                  f"({mid_ratio:.2f}×)")
        pref = results["prefecture"]
        others = max((pref["done"].get(c, float("inf")) for c in pref["waiting"]
                      if c != "county0"), default=float("inf"))
        backlog = pref["done"].get("county0", float("inf"))
        print(f"  [{'fair' if others < backlog else 'STARVED'}] sweep: every other county's "
              f"timers fired within {others:.0f} ms, before county0's backlog was done "
              f"({backlog:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--cases", type=int, default=2000, help="cases per county")
    parser.add_argument("--items", type=int, default=30, help="approval items per case")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--completions", type=int, default=12,
                        help="cases accepted (and their two task sheets taken) in the county")
    parser.add_argument("--backlog", type=int, default=120,
                        help="cases with due timers in county0 (two in every other county)")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--scenarios", default="prefecture,alone")
    args = parser.parse_args()
    # Killed (a timeout), still stop the web server and the worker and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"{os.cpu_count()} CPUs; granian --workers {args.web_workers} (4 blocking threads), "
          f"celery worker -c {args.worker_concurrency}; {load()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="guanjia-bench-prefecture-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in args.scenarios.split(","):
            codes = ([f"county{n}" for n in range(max(2, args.counties))] if name == "prefecture"
                     else [MEASURED])
            results[name] = scenario(name, codes, args, workdir)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
