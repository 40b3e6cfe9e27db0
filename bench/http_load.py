"""Completions per second, latency, server CPU and bytes per case, over the JSON API.

The 12-user-task approval diagram of issue 18 (``bench/http_diagram/``: start -> A with 2
fields -> a script -> B, a 10-way parallel multi-instance with 1 choice field -> C with 1 field
-> end) is deployed through the API to the production server (granian, 2 workers; ``--server
gunicorn``: gunicorn with 2 gthread workers, the server it was measured against), then driven
by 1 and by 4 keep-alive clients, each a person of the bureau: start a case, and for each of
its 12 tasks the list call that finds it and the complete call. Per database it prints

  completions/s   task completions per second of wall time, all clients together
  p50 / p95       of the complete call (ms)
  CPU/case        server CPU per finished case (ms): the server's workers from /proc, plus on
                  PostgreSQL the backends of the bench database (app + db)
  CPU/task        the same per completed task
  KB/case         database bytes added per finished case (SQLite: pages in use after a
                  checkpoint; PostgreSQL: live tuple bytes by pgstattuple after VACUUM FULL,
                  indexes in their tables' live share: rows deleted meanwhile, e.g. an ended
                  case's engine rows, are space later rows reuse, and another session's long
                  transaction on a shared server keeps even VACUUM FULL from removing them)

then its verdict on the targets of issue 18 (medians over ``--rounds``). Figures depend on
the machine's load: the line starts with ``uptime``'s load averages.

Run: python bench/http_load.py [--seconds 6] [--rounds 1] [--clients 1 4] [--no-postgres]
     [--workers 2] [--threads 4] [--tables]
"""

from __future__ import annotations

# (Named http_load.py, not http.py as issue 18 wrote: a bench/http.py shadowed the standard
# library's ``http`` for every other script in bench/, which broke bench/dashboard.py.)
import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIAGRAM = Path(__file__).resolve().parent / "http_diagram"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
#: This run's own database: two benches at once (this one, bench/profile_case.py) never drop
#: each other's; ``drop_pg`` removes it at the end.
PG_NAME = f"guanjia_bench_http_{os.getpid()}"
PASSWORD = "bench-password"
CLIENT_USERS = [f"bench{i}" for i in range(1, 5)]
ANSWERS = {"task_a": {"accepted": True, "opinion": "同意"},
           "task_b": {"verdict": "agree"},
           "task_c": {"summary": "办结"}}
TASKS_PER_CASE = 12
TICK = os.sysconf("SC_CLK_TCK")
NOT_MEASURED = "—"

#: The targets of issue 18, per database: (CPU ms per case, completions/s with 4 clients,
#: sequential complete p95 ms, KB per finished case).
TARGETS = {"sqlite": (70.0, 150.0, 10.0, 20.0), "postgresql": (100.0, 120.0, 15.0, 20.0)}


def load() -> str:
    with open("/proc/loadavg") as f:
        return "load " + " ".join(f.read().split()[:3])


def fmt(value: float | None, spec: str = ".1f") -> str:
    if value is None or value != value:  # not measured (None or NaN)
        return NOT_MEASURED
    return format(value, spec)


# ---- the database ---------------------------------------------------------------------------
def pg_url() -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {PG_NAME}")
    admin.dispose()
    return f"{PG}/{PG_NAME}"


def drop_pg() -> None:
    """Drop this run's PostgreSQL database (if ``pg_url`` made one)."""
    import sqlalchemy as sa

    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
    admin.dispose()


def backend_pids() -> list[int]:
    """The PostgreSQL backends connected to the bench database now."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if cmdline.startswith(b"postgres: ") and f" {PG_NAME} ".encode() in cmdline:
            pids.append(int(entry))
    return pids


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) these processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError):
            pass
    return ticks / TICK


def settings_env(url: str, instance: Path) -> dict[str, str]:
    return {"GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": url,
            "GUANJIA_INSTANCE_DIR": str(instance), "GUANJIA_SECRET_KEY": "bench",
            "GUANJIA_PROCESSES_DIR": str(DIAGRAM), "GUANJIA_FORMS_DIR": str(DIAGRAM)}


def prepare_database(url: str, instance: Path) -> None:
    """Schema, groups and the bench's people; the diagram itself is deployed over HTTP."""
    from server import create_app
    from server.cli import upgrade_database
    from server.config import Settings
    from server.extensions import db
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_user

    app = create_app(Settings.from_env(settings_env(url, instance)))
    logging.disable(logging.INFO)  # Alembic's line per migration
    try:
        upgrade_database(app)
    finally:
        logging.disable(logging.NOTSET)
    with app.app_context():
        ensure_standard_groups()
        ensure_user("bench-designer", "流程设计", PASSWORD, ["designer"])
        for name in CLIENT_USERS:
            ensure_user(name, f"招商{name[5:]}", PASSWORD, ["bureau"])
        db.session.commit()
        db.engine.dispose()


def database_bytes(url: str, tables: bool = False) -> tuple[int, dict[str, int]]:
    """Bytes the database holds now (and, with ``tables``, per table with its indexes)."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            total = conn.execute("SELECT sum(pgsize) FROM dbstat").fetchone()[0] or 0
            per: dict[str, int] = {}
            if tables:
                index_of = dict(conn.execute(
                    "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").fetchall())
                sizes = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")
                for name, size in sizes:
                    per[name] = per.get(name, 0) + size
                    if name in index_of:  # the table's line counts its indexes too
                        owner = index_of[name]
                        per[owner] = per.get(owner, 0) + size
            return int(total), per
        finally:
            conn.close()
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM FULL")
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            # Live bytes: a table's live tuples (with its TOAST table's), and each index's
            # size in the share of its table's tuples that are live. A long transaction of
            # any other session on the server (a test run) keeps rows deleted since then
            # from being removed, even by VACUUM FULL: relation sizes would count them.
            rows = conn.exec_driver_sql(
                "SELECT c.relname, s.tuple_len + coalesce((SELECT tuple_len FROM "
                "pgstattuple(c.reltoastrelid) WHERE c.reltoastrelid <> 0), 0), "
                "s.tuple_count, s.dead_tuple_count FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace, LATERAL pgstattuple(c.oid) s "
                "WHERE n.nspname = 'public' AND c.relkind = 'r'").all()
            live = {r[0]: r[2] / (r[2] + r[3]) if r[2] + r[3] else 1.0 for r in rows}
            indexes = [(name, size * live.get(table, 1.0)) for name, table, size in
                       conn.exec_driver_sql(
                "SELECT i.relname, t.relname, pg_relation_size(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'")]
    finally:
        engine.dispose()
    per = {str(r[0]): int(r[1]) for r in rows}
    total = sum(per.values()) + int(sum(size for _, size in indexes))
    if tables:
        for name, size in indexes:
            per[name] = int(size)
    return total, per if tables else {}


# ---- the server -----------------------------------------------------------------------------
def gunicorn(workers: int, threads: int, port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread",
            "--threads", str(threads), "--keep-alive", "30", "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", "server:create_app()"]


def granian(workers: int, threads: int, port: int) -> list[str]:
    # Rust HTTP and its own threads; the WSGI app runs on ``threads`` blocking threads.
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(workers),
            "--blocking-threads", str(threads), "--runtime-threads", "1", "--host",
            "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--factory", "server:create_app"]


#: The WSGI servers the bench can compare (``--server``).
SERVERS = {"gunicorn": gunicorn, "granian": granian}


def wait_until_serving(port: int, process: subprocess.Popen[bytes], stop: Any, *,
                       seconds: float) -> None:
    """Return once the app on ``port`` answers; ``stop()`` and raise when ``process`` ended or
    ``seconds`` passed first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                stop()
                raise RuntimeError("the web server did not start") from None
            time.sleep(0.2)


class Server:
    """The WSGI server (``SERVERS``) with the app, on a free port of 127.0.0.1."""

    def __init__(self, url: str, instance: Path, workers: int, threads: int,
                 kind: str = "granian") -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = url
        env = {**os.environ, **settings_env(url, instance)}
        command = SERVERS[kind](workers, threads, self.port)
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        wait_until_serving(self.port, self.process, self.stop, seconds=60)

    def cpu_seconds(self) -> float:
        """CPU the workers (and the bench database's PostgreSQL backends) have used."""
        backends = [] if self.url.startswith("sqlite") else backend_pids()
        return cpu_of(self._worker_pids() + backends)

    def _worker_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Client:
    """One keep-alive connection speaking the JSON API as one person."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body)
        try:
            self.conn.request(method, f"/api/v1{path}", headers=headers, body=data)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed an idle keep-alive connection: open it again, once.
            self.conn.close()
            self.conn.request(method, f"/api/v1{path}", headers=headers, body=data)
            response = self.conn.getresponse()
        payload = json.loads(response.read() or b"null")
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {payload}")
        return payload

    def sign_in(self, username: str) -> None:
        self.token = self.call("POST", "/auth/token",
                               {"username": username, "password": PASSWORD})["token"]


def deploy(port: int) -> None:
    client = Client(port)
    client.sign_in("bench-designer")
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(DIAGRAM.glob("*.bpmn"))}
    client.call("POST", "/deployments", {"files": files, "comment": "bench/http_load.py"})
    client.conn.close()


# ---- one run --------------------------------------------------------------------------------
@dataclass
class Run:
    clients: int
    seconds: float = 0.0
    cases: int = 0
    completions: int = 0
    complete_ms: list[float] = field(default_factory=list)
    cpu: float = 0.0
    added_bytes: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.completions / self.seconds if self.seconds else float("nan")

    def percentile(self, q: int) -> float:
        if len(self.complete_ms) < 2:
            return float("nan")
        return statistics.quantiles(self.complete_ms, n=100)[q - 1]

    @property
    def cpu_per_case(self) -> float:
        return self.cpu * 1000 / self.cases if self.cases else float("nan")

    @property
    def kb_per_case(self) -> float:
        return self.added_bytes / 1024 / self.cases if self.cases else float("nan")


def drive(client: Client, until: float, run: Run, lock: threading.Lock) -> None:
    """Finish whole cases until the time is up (the last one is finished too)."""
    try:
        _drive(client, until, run, lock)
    except Exception as exc:  # noqa: BLE001 - reported by ``measure``
        with lock:
            run.errors.append(str(exc))


def _drive(client: Client, until: float, run: Run, lock: threading.Lock) -> None:
    timings: list[float] = []
    cases = completions = 0
    while time.monotonic() < until:
        case = client.call("POST", "/cases", {"process_id": "bench_approval",
                                              "data": {"project_name": "性能测试"}})
        while True:
            listed = client.call("GET", f"/tasks?case_id={case['id']}&per_page=20")["items"]
            if not listed:
                break
            task = listed[0]
            start = time.perf_counter()
            client.call("POST", f"/tasks/{task['id']}/complete",
                        {"data": ANSWERS[task["element_id"].split(" ")[0]]})
            timings.append((time.perf_counter() - start) * 1000)
            completions += 1
        cases += 1
    with lock:
        run.cases += cases
        run.completions += completions
        run.complete_ms += timings


def measure(server: Server, clients: int, seconds: float, tables: bool) -> Run:
    run = Run(clients)
    before_bytes, before_tables = database_bytes(server.url, tables)
    lock = threading.Lock()
    # Signed in before the clock starts: a password check (argon2) is no part of a step.
    signed_in = []
    for i in range(clients):
        client = Client(server.port)
        client.sign_in(CLIENT_USERS[i])
        signed_in.append(client)
    cpu_before = server.cpu_seconds()
    started = time.monotonic()
    threads = [threading.Thread(target=drive, args=(c, started + seconds, run, lock))
               for c in signed_in]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in signed_in:
        c.conn.close()
    run.seconds = time.monotonic() - started
    if run.errors:
        raise RuntimeError("a client failed: " + "; ".join(run.errors))
    run.cpu = server.cpu_seconds() - cpu_before
    after_bytes, after_tables = database_bytes(server.url, tables)
    run.added_bytes = after_bytes - before_bytes
    run.tables = {name: size - before_tables.get(name, 0) for name, size in after_tables.items()
                  if size != before_tables.get(name, 0)}
    if run.completions != run.cases * TASKS_PER_CASE:
        raise RuntimeError(f"{run.completions} completions for {run.cases} cases: "
                           f"expected {TASKS_PER_CASE} each")
    return run


def median(runs: list[Run], value: Any) -> float:
    values = [v for v in (value(r) for r in runs) if v == v]
    return statistics.median(values) if values else float("nan")


def verdict(dialect: str, by_clients: dict[int, list[Run]]) -> list[str]:
    cpu_target, rate_target, p95_target, kb_target = TARGETS[dialect]
    one, four = by_clients.get(1, []), by_clients.get(4, [])
    lines = []

    def line(value: float, ok: bool, text: str) -> None:
        state = NOT_MEASURED if value != value else ("met" if ok else "NOT met")
        lines.append(f"  [{state}] {dialect}: {text}")

    cpu = median(one or four, lambda r: r.cpu_per_case)
    what = "app + database" if dialect == "postgresql" else "app"
    line(cpu, cpu <= cpu_target, f"server CPU per finished case ({what}) {fmt(cpu)} ms "
         f"<= {cpu_target:.0f} ms")
    rate = median(four, lambda r: r.per_second)
    line(rate, rate >= rate_target, f"4 clients {fmt(rate)} completions/s >= {rate_target:.0f}")
    p95 = median(one, lambda r: r.percentile(95))
    line(p95, p95 <= p95_target, f"sequential complete p95 {fmt(p95)} ms <= {p95_target:.0f} ms")
    kb = median(one + four, lambda r: r.kb_per_case)
    line(kb, kb <= kb_target, f"{fmt(kb)} KB per finished case <= {kb_target:.0f} KB")
    return lines


def bench_database(name: str, url: str, instance: Path, args: argparse.Namespace) -> list[str]:
    prepare_database(url, instance)
    server = Server(url, instance, args.workers, args.threads, args.server)
    try:
        deploy(server.port)
        # A short warm-up: both workers parse the diagram and fill their caches.
        measure(server, 2, 0.5, False)
        by_clients: dict[int, list[Run]] = {}
        for _ in range(args.rounds):
            for clients in args.clients:
                run = measure(server, clients, args.seconds, args.tables)
                by_clients.setdefault(clients, []).append(run)
                print(f"{name:>10} {clients:>7} {run.cases:>6} {fmt(run.per_second):>13} "
                      f"{fmt(run.percentile(50), '.2f'):>7} {fmt(run.percentile(95), '.2f'):>7} "
                      f"{fmt(run.cpu_per_case):>8} "
                      f"{fmt(run.cpu_per_case / TASKS_PER_CASE, '.2f'):>8} "
                      f"{fmt(run.kb_per_case):>8}   {load()}", flush=True)
                if args.tables and run.cases:
                    for table, size in sorted(run.tables.items(), key=lambda kv: -kv[1]):
                        print(f"{'':>12}{table:<28} {size / 1024 / run.cases:>7.2f} KB/case")
    finally:
        server.stop()
    return verdict(name, by_clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=1, help="runs per row (3 for a verdict)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=sorted(SERVERS), default="granian",
                        help="the WSGI server: granian (production) or gunicorn")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--tables", action="store_true",
                        help="bytes per case by table (with its indexes) and by index")
    args = parser.parse_args()
    if max(args.clients) > len(CLIENT_USERS):
        parser.error(f"at most {len(CLIENT_USERS)} clients")
    workdir = Path(tempfile.mkdtemp(prefix="guanjia-bench-http-"))
    print(f"{' '.join(SERVERS[args.server](args.workers, args.threads, 0)[1:])}; "
          f"{args.seconds:g} s per run, {args.rounds} round(s); {load()}")
    print(f"{'database':>10} {'clients':>7} {'cases':>6} {'completions/s':>13} {'p50':>7} "
          f"{'p95':>7} {'CPU/case':>8} {'CPU/task':>8} {'KB/case':>8}")
    lines: list[str] = []
    try:
        if not args.no_sqlite:
            lines += bench_database("sqlite", f"sqlite:///{workdir / 'bench.sqlite'}",
                                    workdir / "sqlite", args)
        if not args.no_postgres:
            try:
                lines += bench_database("postgresql", pg_url(), workdir / "pg", args)
            finally:
                drop_pg()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("ms for p50/p95 (complete call) and CPU; targets of issue 18 "
          f"(medians of {args.rounds} round(s); the issue asks for 3 on a quiet machine):")
    for text in lines:
        print(text)


if __name__ == "__main__":
    main()
