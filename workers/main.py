"""What ``celery -A workers.main worker`` (and ``beat``) loads: the app from the same factory.

Like ``make_celery.py`` in Flask's Celery example, this module exists only for the Celery
command line; code that needs the Celery app asks ``app.extensions["celery"]``.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from server import create_app
from server.extensions import db
from workers import celery_init_app
from workers.clock import install_file_clock

flask_app = create_app()
celery = celery_init_app(flask_app)
install_file_clock(flask_app.extensions["guanjia.workers"].fake_now_file,
                   mode=flask_app.config["GUANJIA"].mode)


@worker_process_init.connect
def _own_connections(**_: Any) -> None:
    # A forked pool process must not share the parent's database sockets.
    with flask_app.app_context():
        db.engine.dispose(close=False)
