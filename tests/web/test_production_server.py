"""The production web server: the Dockerfile's command, run as it is, serves the app.

Issue 18 had the WSGI server measured against gunicorn (bench/http_load.py --server) and the
faster one kept: granian. This starts exactly the Dockerfile's command (one worker, on a free
port of 127.0.0.1 instead of 0.0.0.0:8000) on a SQLite database and uses it as people and API
clients do: the sign-in page, a wrong password, a token, the task list, a form post.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.helpers.deployment import dockerfile

PASSWORD = "production-server-pw"


def _command(port: int) -> list[str]:
    [args] = [a for keyword, a in dockerfile() if keyword == "CMD"]
    command: list[str] = json.loads(args)
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    command[command.index("--workers") + 1] = "1"
    # The installed console script, from this virtual environment.
    command[0] = str(Path(sys.executable).with_name(command[0]))
    return command


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    from server import create_app
    from server.cli import upgrade_database
    from server.config import Settings
    from server.extensions import db
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_user

    instance = tmp_path_factory.mktemp("production-server")
    env = {"GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": f"sqlite:///{instance / 'app.db'}",
           "GUANJIA_INSTANCE_DIR": str(instance), "GUANJIA_SECRET_KEY": "production-test"}
    app = create_app(Settings.from_env(env))
    upgrade_database(app)
    with app.app_context():
        ensure_standard_groups()
        ensure_user("zhaoshang1", "招商一", PASSWORD, ["bureau"])
        db.session.commit()
        db.engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = (instance / "server.log").open("wb")
    process = subprocess.Popen(_command(port), cwd=ROOT, env={**os.environ, **env},
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _headers, _body = _request(port, "GET", "/api/v1/openapi.json")
                if status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the production server did not start:\n"
                                     + (instance / "server.log").read_text(errors="replace"))
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _request(port: int, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _json(port: int, method: str, path: str, payload: Any = None,
          token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, _, body = _request(port, method, path,
                               json.dumps(payload) if payload is not None else None, headers)
    return status, json.loads(body)


def test_the_dockerfile_command_serves_the_sign_in_page(served: int) -> None:
    status, headers, body = _request(served, "GET", "/login")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    page = body.decode("utf-8")
    assert "登录" in page and 'name="password"' in page


def test_the_api_signs_in_refuses_a_wrong_password_and_lists_tasks(served: int) -> None:
    status, refused = _json(served, "POST", "/api/v1/auth/token",
                            {"username": "zhaoshang1", "password": "wrong"})
    assert status == 401 and "token" not in refused
    status, signed = _json(served, "POST", "/api/v1/auth/token",
                           {"username": "zhaoshang1", "password": PASSWORD})
    assert status == 200 and signed["token"]
    status, tasks = _json(served, "GET", "/api/v1/tasks", token=signed["token"])
    assert status == 200 and tasks["total"] == 0
    status, _ = _json(served, "GET", "/api/v1/tasks", token="not-a-token")
    assert status == 401


def test_a_body_that_is_not_json_gets_a_clear_error_and_the_server_keeps_serving(
        served: int) -> None:
    status, headers, body = _request(served, "POST", "/api/v1/auth/token", b"{not json",
                                     {"Content-Type": "application/json"})
    assert 400 <= status < 500
    assert headers["content-type"].startswith("application/problem+json")
    problem = json.loads(body)
    assert problem["status"] == status and problem["detail"]
    status, _, _ = _request(served, "GET", "/api/v1/openapi.json")
    assert status == 200
