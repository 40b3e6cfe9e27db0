"""Engine tests run without an app: install the working-day calendar the app would."""

from __future__ import annotations

import pytest

from server.engine.scripting import use_calendar
from server.rules.workdays import WorkCalendar


@pytest.fixture(autouse=True)
def working_day_calendar() -> None:
    # Each test (tests/conftest.py puts the engine back as imported after every test).
    use_calendar(WorkCalendar.default())
