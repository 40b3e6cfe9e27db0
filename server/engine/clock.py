"""The engine's time source, injectable so tests can move time.

SpiffWorkflow's timers call ``datetime.now(timezone.utc)`` inside its timer module and offer no
hook; ``install`` has that module's ``datetime`` name replaced (``library.route_timer_clock``,
docs/engine.md §5) with one whose ``now`` reads the active clock.

Two levels: ``set_clock`` sets the process's clock (a test's frozen clock, the workers' file
clock); ``using_clock`` overrides it for the current context only (a thread, or an asyncio
task), as a re-execution does with the recorded times: other requests keep theirs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol

from server.engine import library


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests, replays, benchmarks)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


_process_clock: Clock = SystemClock()
_context_clock: ContextVar[Clock | None] = ContextVar("guanjia_engine_clock", default=None)


def set_clock(clock: Clock) -> Clock:
    """Make ``clock`` the process's time source; returns the previous one."""
    global _process_clock
    previous, _process_clock = _process_clock, clock
    return previous


@contextmanager
def using_clock(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` in this context only (this thread; other threads keep theirs)."""
    token = _context_clock.set(clock)
    try:
        yield clock
    finally:
        _context_clock.reset(token)


def active() -> Clock:
    """The clock in force here: this context's override, else the process's."""
    return _context_clock.get() or _process_clock


def now() -> datetime:
    return active().now()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def]
        current = active().now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install() -> None:
    """Route SpiffWorkflow's timer module through the active clock (idempotent)."""
    library.route_timer_clock(_ClockDatetime)
