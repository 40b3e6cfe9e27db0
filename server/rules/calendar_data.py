"""The one error every piece of calendar data raises when it cannot be read."""

from __future__ import annotations


class CalendarDataError(ValueError):
    """Calendar data, a pasted notice or office hours are malformed; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line is not None else message)
