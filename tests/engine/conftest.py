"""Engine tests run without an app: install the working-day calendar the app would."""

from __future__ import annotations

import pytest

from server.engine.scripting import use_calendar
from server.rules.workdays import WorkCalendar


@pytest.fixture(autouse=True, scope="session")
def working_day_calendar() -> None:
    use_calendar(WorkCalendar.default())
