"""The Celery side of guanjia: the same ``create_app`` factory, tasks that take ids.

As in Flask's Celery example, every task runs inside the Flask app context and the Celery
app lives in ``app.extensions["celery"]``. Celery settings come from the Flask ``Settings``
(broker, result backend, eager mode) plus any ``GUANJIA_CELERY_<NAME>`` variable, which sets
Celery's lower-case ``<name>`` (values are read as JSON when they parse, e.g.
``GUANJIA_CELERY_BROKER_TRANSPORT_OPTIONS='{"visibility_timeout": 600}'``; on Redis these
options are laid over guanjia's, see ``redis_transport_options``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app, has_app_context

from workers.schedule import beat_schedule
from workers.settings import WorkerSettings

CELERY_PREFIX = "GUANJIA_CELERY_"
# GUANJIA_CELERY_EAGER belongs to server.config.Settings; it is not a Celery key.
_NOT_CELERY = {"GUANJIA_CELERY_EAGER"}


def celery_config(app: Flask, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Celery's settings for ``app``: reliable delivery defaults, then the environment."""

    settings = app.config["GUANJIA"]
    workers: WorkerSettings = app.extensions["guanjia.workers"]
    config: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "task_ignore_result": settings.result_backend is None,
        "task_always_eager": settings.celery_always_eager,
        # At-least-once: a message is acknowledged only after its task finished, and a task
        # whose worker died is given back to the queue. Handlers are idempotent for that.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "guanjia",
        "broker_connection_retry_on_startup": True,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(workers),
        "worker_hijack_root_logger": False,
    }
    source = os.environ if env is None else env
    for name, raw in source.items():
        if name.startswith(CELERY_PREFIX) and name not in _NOT_CELERY:
            try:
                value: Any = json.loads(raw)
            except ValueError:
                value = raw
            config[name[len(CELERY_PREFIX):].lower()] = value
    if settings.broker_url.startswith("redis"):
        config["broker_transport_options"] = redis_transport_options(
            config.get("broker_transport_options") or {})
    return config


#: Seconds a message taken by a worker may stay unacknowledged before another worker is
#: given it again (kombu's Redis ``visibility_timeout``); a task must finish well within it.
VISIBILITY_TIMEOUT = 3600


def redis_transport_options(given: Mapping[str, Any]) -> dict[str, Any]:
    """kombu's Redis options: ``given`` laid over ours, so a killed worker's messages come
    back about ``visibility_timeout`` seconds after it took them, whatever that is.

    kombu looks for such messages every ``unacked_restore_interval`` (10 s) seconds but scans
    only on every ``unacked_restore_throttle``-th (10th) look: up to 100 s late, longer than
    the whole timeout when it is short. We scan on every look, at a tenth of the timeout
    (1 to 100 s), unless ``given`` sets either option. A worker killed while scanning leaves
    the scan's lock behind for ``unacked_mutex_expire`` (300 s), and no one scans until it
    expires: we let it expire after the timeout, at most 300 s, unless ``given`` sets it.
    """
    options = {"visibility_timeout": VISIBILITY_TIMEOUT, **given}
    timeout = float(options["visibility_timeout"])
    if "unacked_restore_interval" not in given and "unacked_restore_throttle" not in given:
        options["unacked_restore_interval"] = max(1, min(100, int(timeout // 10)))
        options["unacked_restore_throttle"] = 1
    options.setdefault("unacked_mutex_expire", max(1, min(300, int(timeout))))
    return options


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app bound to ``app`` and keep it in ``app.extensions["celery"]``."""
    if "guanjia.workers" not in app.extensions:
        app.extensions["guanjia.workers"] = WorkerSettings.from_env()

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            # Reuse a context that is already ours (eager tasks inside a request or a test);
            # Flask-SQLAlchemy gives each context its own session, so pushing one would
            # split the caller's transaction in two.
            if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    app.config["CELERY"] = celery_config(app)
    celery.config_from_object(app.config["CELERY"])
    celery.set_default()
    app.extensions["celery"] = celery
    import workers.tasks  # noqa: F401, PLC0415  (registers the tasks on the default app)

    return celery
