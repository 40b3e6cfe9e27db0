"""Embedded mode: the worker ``guanjia run`` starts fires a timer with no Redis anywhere.

The broker is Kombu's SQLAlchemy transport on a SQLite file, the database is SQLite: this is
what a laptop runs. The worker is started exactly as ``guanjia run`` starts it.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from server.config import Settings
from server.engine.clock import FrozenClock
from tests.conftest import Api
from tests.workers.helpers import (
    approve_review,
    fired_events,
    open_items,
    start_case,
    wait_for,
    write_now,
)
from workers.embedded import start_embedded_workers


@pytest.mark.worker(database="sqlite")
def test_the_embedded_worker_fires_a_timer_on_the_sqlite_broker(
        api: Api, frozen_clock: FrozenClock, now_file: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings: Settings = api.app.config["GUANJIA"]
    assert settings.broker_url.startswith("sqla+sqlite:///")
    write_now(now_file, frozen_clock.now())
    case_id = start_case(api)
    approve_review(api, case_id)
    monkeypatch.setenv("GUANJIA_FAKE_NOW_FILE", str(now_file))
    monkeypatch.setenv("GUANJIA_TIMER_SWEEP_SECONDS", "0.5")
    # Whatever Redis the machine may have, the embedded worker must not need it.
    monkeypatch.setenv("GUANJIA_CELERY_BROKER_TRANSPORT_OPTIONS", "{}")
    (child,) = start_embedded_workers(settings)
    log = settings.instance_dir / "worker.log"
    try:
        wait_for(lambda: log.exists() and "ready" in log.read_text(errors="replace"),
                 timeout=60, what="the embedded worker to start")
        frozen_clock.advance(timedelta(minutes=31))
        write_now(now_file, frozen_clock.now())
        wait_for(lambda: len(open_items(api.app, "urge_department")) == 2, timeout=90,
                 what=f"the timers on the embedded broker\n{log.read_text()[-4000:]}")
    finally:
        os.kill(child.pid, signal.SIGTERM)
        child.wait(timeout=30)
    assert [e[2] for e in fired_events(api.app)] == ["sheet_not_taken"] * 2
    # The worker's banner names the broker it consumed from.
    assert "sqla+sqlite:///" in log.read_text(errors="replace")
