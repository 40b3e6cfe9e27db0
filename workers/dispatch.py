"""Sending background tasks by name, now or once the current transaction has committed.

Services decide *what* should happen in the background; this module only delivers. A task is
sent after the commit of the rows it reads, so a worker never looks for a row that is not
there yet, and a rolled-back step sends nothing. A send that fails (broker down) is logged and
left to the sweeps that re-find work from the database (pending mail, due timers).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.extensions import db
from workers import celery_init_app

log = logging.getLogger(__name__)
_PENDING = "guanjia.after_commit"


def celery_of(app: Flask) -> Celery:
    """The app's Celery (``app.extensions["celery"]``), initialised on first use."""
    celery = app.extensions.get("celery")
    if celery is None:

        celery = celery_init_app(app)
    return celery


def send(name: str, args: list[Any], **options: Any) -> None:
    """Send task ``name`` now; in eager mode run it here, in a context of its own."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    celery = celery_of(app)
    if celery.conf.task_always_eager:
        # A fresh app context gives the task its own session, apart from the caller's.
        with app.app_context():
            celery.tasks[name].apply(args=args, **options)
        return
    celery.send_task(name, args=args, **options)


def send_after_commit(name: str, args: list[Any], **options: Any) -> None:
    """Send task ``name`` once the current transaction commits; never if it rolls back."""
    session = db.session()
    session.info.setdefault(_PENDING, []).append(
        (current_app._get_current_object(), name, args, options))  # type: ignore[attr-defined]


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for app, name, args, options in pending or ():
        try:
            with app.app_context():
                send(name, args, **options)
        except Exception:  # noqa: BLE001 - the sweeps find the work again
            log.exception("could not send %s%r; a sweep will pick it up", name, args)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
