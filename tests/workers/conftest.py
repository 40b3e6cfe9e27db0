"""Worker fixtures: cases with timers, a controllable clock file, and real worker processes.

Tests marked ``worker`` start ``celery -A workers.main worker`` as a child process. They run
on PostgreSQL with Redis at 127.0.0.1:6379 (an unreachable Redis fails them, it never skips
them), except the embedded-mode test, which runs on SQLite with the in-database broker; the
other database's variant of each is deselected rather than skipped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from tests.conftest import FIXTURES, ROOT
from tests.workers.helpers import REDIS_URL, redis_key


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("worker")
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("database") if callspec is not None else None
        if marker is not None and kind is not None \
                and kind != marker.kwargs.get("database", "postgresql"):
            dropped.append(item)
            continue
        if "redis_queue" in getattr(item, "fixturenames", ()):
            # Real Celery workers share one Redis (its unacked hash, its broadcast exchanges):
            # under pytest-xdist they run one after another in one test process.
            item.add_marker(pytest.mark.xdist_group("celery-workers"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class WorkerProcess:
    """One ``celery worker`` child (with beat when asked), killable like a crashed server."""

    def __init__(self, env: dict[str, str], log: Path, *, beat: bool, pool: str,
                 concurrency: int, name: str) -> None:
        self.env, self.log, self.beat = env, log, beat
        self.pool, self.concurrency, self.name = pool, concurrency, name
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        command = [sys.executable, "-m", "celery", "-A", "workers.main", "worker",
                   "--pool", self.pool, "--concurrency", str(self.concurrency),
                   "--loglevel", "INFO", "--hostname", f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if self.beat:
            command += ["--beat", "--schedule", str(self.log.parent / "beat-schedule")]
        out = open(self.log, "ab")  # noqa: SIM115 (the child holds it)
        self.process = subprocess.Popen(command, cwd=str(ROOT), env=self.env, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        return self

    def kill9(self) -> None:
        """SIGKILL the worker and its pool children at once: no shutdown, no acks."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-6000:]


@pytest.fixture
def now_file(tmp_path: Path) -> Path:
    return tmp_path / "now.txt"


@pytest.fixture
def redis_queue() -> Iterator[str]:
    """A queue of our own on the test Redis, whose name also prefixes every key the test's
    workers write there (``redis_key``); all of them are deleted afterwards. Fails if no Redis.

    The Redis is shared (pytest-xdist processes, other checkouts): with keys of their own,
    a test's workers never restore another test's unacknowledged messages nor wait for a
    restore lock another test's killed worker left behind.
    """
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is required for worker tests and is not reachable at {REDIS_URL}: "
                    f"{exc}", pytrace=False)
    queue = f"guanjia-test-{uuid.uuid4().hex[:8]}"
    yield queue
    keys = list(client.scan_iter(match=redis_key(queue, "*")))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def start_worker(app: Flask, now_file: Path, tmp_path: Path,
                 redis_queue: str) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes on the test app's database, Redis and fake clock file."""
    settings = app.config["GUANJIA"]
    started: list[WorkerProcess] = []

    def start(*, beat: bool = True, pool: str = "prefork", concurrency: int = 2,
              broker: str = REDIS_URL, transport_options: dict[str, Any] | None = None,
              **extra: str) -> WorkerProcess:
        options = {"global_keyprefix": redis_key(redis_queue, ""), **(transport_options or {})}
        env = dict(os.environ)
        env.update({
            "GUANJIA_MODE": "test",
            "GUANJIA_DATABASE_URL": settings.database_url,
            "GUANJIA_SECRET_KEY": "test-secret",
            "GUANJIA_INSTANCE_DIR": str(tmp_path / "worker-instance"),
            "GUANJIA_PROCESSES_DIR": str(FIXTURES / "processes"),
            "GUANJIA_FORMS_DIR": str(FIXTURES / "forms"),
            "GUANJIA_BROKER_URL": broker,
            "GUANJIA_FAKE_NOW_FILE": str(now_file),
            "GUANJIA_CELERY_TASK_DEFAULT_QUEUE": redis_queue,
            "GUANJIA_CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(options),
            "GUANJIA_TIMER_SWEEP_SECONDS": "0.5",
            "GUANJIA_RETRY_BACKOFF_SECONDS": "0.2",
        })
        env.update(extra)
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log", beat=beat,
                               pool=pool, concurrency=concurrency, name="test").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
