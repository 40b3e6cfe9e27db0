"""Traffic lights and time left, on the real 2026 calendar."""

from __future__ import annotations

from datetime import datetime

import pytest

from server.rules.lights import Light, TimeLeft, case_light, item_light, time_left
from server.rules.workdays import SHANGHAI, Deadline, Pause, WorkCalendar, deadline_with_pauses


def cst(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.default()


@pytest.fixture(scope="module")
def due(cal: WorkCalendar) -> Deadline:
    # Received Monday 2026-09-28, 5 working days: due Saturday 2026-10-10 17:30 (调休).
    return cal.add_working_days(cst(2026, 9, 28), 5)


@pytest.mark.parametrize(
    ("now", "light", "left"),
    [
        (cst(2026, 9, 29), Light.GREEN, TimeLeft(4, False)),
        # 10/8 is one working day before 10/10 (10/9) -> still green at 2 days.
        (cst(2026, 10, 8), Light.GREEN, TimeLeft(2, False)),
        # During the National Day holiday 10/8 is the next working day.
        (cst(2026, 10, 4), Light.GREEN, TimeLeft(3, False)),
        (cst(2026, 10, 9), Light.YELLOW, TimeLeft(1, False)),
        (cst(2026, 10, 10, 17, 29), Light.YELLOW, TimeLeft(0, False)),
        (cst(2026, 10, 10, 17, 31), Light.RED, TimeLeft(0, True)),
        (cst(2026, 10, 13), Light.RED, TimeLeft(-2, True)),
    ],
)
def test_item_light_and_time_left(
    cal: WorkCalendar, due: Deadline, now: datetime, light: Light, left: TimeLeft
) -> None:
    assert item_light(due, now, cal) == light
    assert time_left(due, now, cal) == left
    assert item_light(due.at, now, cal) == light  # a bare datetime works too


def test_warning_threshold_is_configurable(cal: WorkCalendar, due: Deadline) -> None:
    assert item_light(due, cst(2026, 10, 8), cal, warn_working_days=2) == Light.YELLOW
    assert item_light(due, cst(2026, 10, 9), cal, warn_working_days=0) == Light.GREEN
    with pytest.raises(ValueError, match="warn_working_days"):
        item_light(due, cst(2026, 10, 9), cal, warn_working_days=-1)


def test_paused_item_keeps_its_colour_at_pause_time(cal: WorkCalendar) -> None:
    start = cst(2026, 11, 2)  # due Monday 11/9 17:30
    paused = deadline_with_pauses(start, 5, [Pause(cst(2026, 11, 4), None, "补正")], cal)
    assert paused.paused
    # Weeks later the item is still green: its clock stopped with 3 working days left.
    assert item_light(paused, cst(2026, 11, 30), cal) == Light.GREEN
    assert time_left(paused, cst(2026, 11, 30), cal) == TimeLeft(3, False)
    yellow = deadline_with_pauses(start, 5, [Pause(cst(2026, 11, 6), None)], cal)
    assert item_light(yellow, cst(2026, 11, 30), cal) == Light.YELLOW
    # Before the pause started the clock still runs normally.
    assert item_light(paused, cst(2026, 11, 3), cal) == Light.GREEN


def test_case_light_is_the_worst_open_item() -> None:
    assert case_light([Light.GREEN, Light.RED, Light.YELLOW]) == Light.RED
    assert case_light([Light.GREEN, Light.YELLOW]) == Light.YELLOW
    assert case_light([]) == Light.GREEN


def test_labels() -> None:
    assert Light.YELLOW.code == "yellow" and Light.RED.label_zh == "红灯"
    assert TimeLeft(3, False).label_zh == "剩余3个工作日"
    assert TimeLeft(0, False).label_zh == "今日到期"
    assert TimeLeft(0, True).label_zh == "已超期"
    assert TimeLeft(-2, True).label_zh == "已超期2个工作日"
