"""The README's first command serves a sample case whose first task completes over the API;
its other commands, as written for a checkout (``.venv/bin/…``), then run against it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(base: str, method: str, path: str, token: str | None = None,
         body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{base}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def readme_commands_run_as_written(env: dict[str, str], tmp_path: Path) -> None:
    """Every complete ``.venv/bin/…`` command of the README runs from the checkout (issue 19:
    after ``make run`` the ``guanjia`` command is in ``.venv``, not on the PATH)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [c for c in re.findall(r"`(\.venv/bin/[^`]+)`", readme)
                if "…" not in c and "county.csv" not in c and c != ".venv/bin/guanjia"]
    assert ".venv/bin/guanjia audit verify" in commands
    assert any(c.startswith(".venv/bin/guanjia export") for c in commands)
    assert any("aiosmtpd" in c for c in commands)
    for command in commands:
        server = "aiosmtpd" in command  # a debugging mail server: it serves until stopped
        run = subprocess.run(["bash", "-c", f"timeout 3 {command}" if server else command],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == (124 if server else 0), (command, run.stdout, run.stderr)
        if command.endswith("audit verify"):
            assert run.stdout.startswith("OK"), run.stdout


def test_guanjia_run_serves_the_sample_case(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANJIA_")}
    env["GUANJIA_INSTANCE_DIR"] = str(tmp_path / "instance")
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run", "--port", str(port), "--no-worker"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if call(base, "GET", "/openapi.json")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not come up in 90 s"
            time.sleep(0.5)
        status, body = call(base, "POST", "/auth/token",
                            body={"username": "zhaoshang", "password": "guanjia-demo"})
        assert status == 200
        token = body["token"]
        status, page = call(base, "GET", "/tasks", token)
        assert status == 200 and page["total"] == 1
        task = page["items"][0]
        assert task["element_id"] == "review_application"
        assert task["case_title"] == "年产10GWh储能电池生产基地项目"
        status, done = call(base, "POST", f"/tasks/{task['id']}/complete", token, {"data": {
            "review_decision": "approve", "review_opinion": "符合受理条件"}})
        assert status == 200, done
        status, case = call(base, "GET", f"/cases/{task['case_id']}", token)
        assert [e["type"] for e in case["history"]].count("task_completed") == 1
        assert any(t["element_id"] == "sign_acceptance" and t["state"] == "ready"
                   for t in case["tasks"])
        readme_commands_run_as_written(env, tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, read from each of its threads (a thread that ends while
    we look has no children to report)."""
    found: list[int] = []
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in threads:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has stopped; only its exit status is left


def test_sigterm_stops_the_embedded_worker_and_beat_with_the_server(tmp_path: Path) -> None:
    import signal

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANJIA_")}
    env["GUANJIA_INSTANCE_DIR"] = str(tmp_path / "instance")
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if call(f"http://127.0.0.1:{port}/api/v1", "GET", "/openapi.json")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not come up in 120 s"
            time.sleep(0.5)
        workers = _children(server.pid)
        assert workers, "the embedded worker did not start"
        deadline = time.monotonic() + 30
        while not any(_children(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.5)  # the worker starts beat as a process of its own
        workers += [beat for w in workers for beat in _children(w)]
        assert len(workers) >= 2, "beat did not start"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=40) == 0, log.read_text()[-2000:]
        assert not [pid for pid in workers if _alive(pid)], log.read_text()[-2000:]
    finally:
        if server.poll() is None:
            server.kill()
