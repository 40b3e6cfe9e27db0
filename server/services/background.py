"""Background work the services ask for, delivered by whatever the app registered.

Services decide *what* should run in the background; they do not know who delivers it. The
app factory registers the deliverer (``server.assembly`` registers ``workers.dispatch``), so
services never import the workers package that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from server.engine import clock
from server.engine.errors import ScriptLimitError

#: ``app.extensions`` key of the callable ``(task name, args, **options)`` that sends a task
#: once the current transaction commits (and never when it rolls back).
DISPATCHER = "guanjia.dispatch_after_commit"

Dispatcher = Callable[..., None]


def register_dispatcher(app: Flask, dispatch: Dispatcher) -> None:
    """Make ``dispatch`` the app's way to send background tasks after a commit."""
    app.extensions[DISPATCHER] = dispatch


def send_after_commit(name: str, args: list[Any], **options: Any) -> None:
    """Send background task ``name`` once the current transaction commits.

    Raises ``RuntimeError`` when the app registered no dispatcher (an app not built by
    ``create_app``).
    """
    dispatch: Dispatcher | None = current_app.extensions.get(DISPATCHER)
    if dispatch is None:
        raise RuntimeError("no background dispatcher registered (server.assembly does it)")
    dispatch(name, args, **options)


def fails_every_time(error: BaseException) -> bool:
    """Whether retrying a failed step is pointless: a script over its time or size budget,
    or a step that does not settle, fails the same way again (docs/engine.md)."""
    return isinstance(error, ScriptLimitError)


def set_process_clock(source: clock.Clock) -> clock.Clock:
    """Make ``source`` this process's time for the engine and the services; returns the
    previous clock (a worker reading a clock file, see ``workers.clock``)."""
    return clock.set_clock(source)
