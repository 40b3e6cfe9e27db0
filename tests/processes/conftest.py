"""Fixtures for the diagram tests: the engine, a frozen clock and a case factory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.engine import clock as engine_clock
from server.engine.runtime import Engine
from server.engine.scripting import use_calendar
from server.services.calendar import InstalledCalendar
from tests.helpers.diagram_walk import MAIN_PROCESS, MONDAY_MORNING, EngineCase


@pytest.fixture(autouse=True)
def working_day_calendar() -> None:
    # The calendar a running app installs; without an app it counts with the bundled
    # national calendar and the default county settings.
    use_calendar(InstalledCalendar())


@pytest.fixture
def clock() -> Iterator[engine_clock.FrozenClock]:
    frozen = engine_clock.FrozenClock(MONDAY_MORNING)
    previous = engine_clock.set_clock(frozen)
    yield frozen
    engine_clock.set_clock(previous)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()


@pytest.fixture
def new_case(engine: Engine, clock: engine_clock.FrozenClock) -> Any:
    def make(process_id: str = MAIN_PROCESS) -> EngineCase:
        return EngineCase(engine, clock, process_id)

    return make
