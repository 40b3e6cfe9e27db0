"""A clock read from a file, so tests (and rehearsals) can move a worker process's time.

Set ``GUANJIA_FAKE_NOW_FILE`` to a file holding one ISO-8601 instant with a zone, e.g.
``2026-11-23T01:31:00+00:00``; the worker installs this clock at start-up and every engine
``now()`` reads the file again, so writing a new instant moves the worker's time at once.
Never set it in production: the variable is refused in production mode.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from server.config import ConfigError
from server.services.background import set_process_clock


class FileClock:
    """``now()`` is the instant written in ``path`` (re-read when the file changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._now: datetime | None = None
        self.now()

    def now(self) -> datetime:
        stat = self.path.stat()
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen or self._now is None:
            value = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
            if value.tzinfo is None:
                raise ConfigError(f"{self.path} must hold an instant with a zone")
            self._now, self._seen = value, seen
        return self._now


def install_file_clock(path: Path | None, *, mode: str) -> FileClock | None:
    """Make the engine read time from ``path`` (when given); raises ``ConfigError``."""
    if path is None:
        return None
    if mode == "production":
        raise ConfigError("GUANJIA_FAKE_NOW_FILE must not be set in production")
    file_clock = FileClock(path)
    set_process_clock(file_clock)
    return file_clock
