"""The embedded worker: one child process running a Celery worker with beat inside it.

``guanjia run`` starts it next to the web server. The broker is the SQLite file named by
``GUANJIA_BROKER_URL`` (Kombu's SQLAlchemy transport, ``sqla+sqlite:///…``), so a laptop needs
no Redis; production runs ``celery -A workers.main worker`` and one ``beat`` instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from server.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def embedded_worker_command(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "workers.main", "worker", "--beat",
        # Threads, not forks: one SQLite file, one process, its own case lock per case.
        "--pool", "threads", "--concurrency", "2", "--loglevel", "INFO",
        "--schedule", str(settings.instance_dir / "celerybeat-schedule"),
        "--hostname", "embedded@%h", "--without-gossip", "--without-mingle",
    ]


def start_embedded_workers(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """Start the worker (with beat) for this settings' database and broker."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "GUANJIA_MODE": settings.mode,
        "GUANJIA_DATABASE_URL": settings.database_url,
        "GUANJIA_BROKER_URL": settings.broker_url,
        "GUANJIA_INSTANCE_DIR": str(settings.instance_dir),
        "GUANJIA_PROCESSES_DIR": str(settings.processes_dir),
        "GUANJIA_FORMS_DIR": str(settings.forms_dir),
        # The worker signs nothing for the web, but settings refuse to start without a key
        # outside embedded mode; hand over the web's.
        "GUANJIA_SECRET_KEY": settings.secret_key,
    })
    log = open(settings.instance_dir / "worker.log", "ab")  # noqa: SIM115 (child owns it)
    child = subprocess.Popen(embedded_worker_command(settings), cwd=str(ROOT), env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return [child]


def stop_embedded_workers(children: list[subprocess.Popen[bytes]], *,
                          grace_seconds: float = 15.0) -> None:
    """Ask each child to stop (Celery's warm shutdown), then kill what is still running."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)
