"""Fixtures for the diagram tests: a controllable clock and a case factory."""

from __future__ import annotations

import pytest
from process_harness import MAIN_PROCESS, Case, Clock, install_fake_clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    install_fake_clock(clock, monkeypatch)
    return clock


@pytest.fixture
def new_case(clock: Clock):
    def make(process_id: str = MAIN_PROCESS) -> Case:
        return Case(clock, process_id)

    return make
