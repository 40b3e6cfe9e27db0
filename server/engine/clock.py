"""The engine's time source, injectable so tests can move time.

SpiffWorkflow's timers call ``datetime.now(timezone.utc)`` inside its timer module and offer no
hook; ``install`` replaces that module's ``datetime`` name with one whose ``now`` reads the
active clock. This is the only place that reaches into the library's internals for time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module


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


_active: Clock = SystemClock()


def set_clock(clock: Clock) -> Clock:
    """Make ``clock`` the engine's time source; returns the previous one."""
    global _active
    previous, _active = _active, clock
    return previous


def now() -> datetime:
    return _active.now()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
        current = _active.now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install() -> None:
    """Route SpiffWorkflow's timer module through the active clock (idempotent)."""
    _timer_module.datetime = _ClockDatetime  # type: ignore[attr-defined,misc]
