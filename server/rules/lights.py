"""Traffic lights for supervision (绿灯/黄灯/红灯, seed 000 §六; 到期预警、超期警示).

* **red**: the due moment has passed (超期);
* **yellow**: due within ``warn_working_days`` working days (default 1: due today or on the
  next working day) (到期预警);
* **green**: otherwise.

A paused item (补正, expert review) keeps the colour it had when its clock stopped: it is judged
at ``paused_since`` instead of now. A case shows the worst light of its open items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from server.rules.workdays import Deadline, WorkCalendar

#: Default warning threshold in working days before the due day.
WARN_WORKING_DAYS = 1


class Light(IntEnum):
    """A supervision colour; ordered so that ``max`` gives the worst."""

    GREEN = 0
    YELLOW = 1
    RED = 2

    @property
    def code(self) -> str:
        """Lower-case name for templates and JSON: ``green``, ``yellow``, ``red``."""
        return self.name.lower()

    @property
    def label_zh(self) -> str:
        """绿灯 / 黄灯 / 红灯."""
        return ("绿灯", "黄灯", "红灯")[self.value]


@dataclass(frozen=True)
class TimeLeft:
    """Working days left before the due day (negative: working days overdue).

    ``working_days`` 0 and not ``overdue`` means due today; 0 and ``overdue`` means it fell due
    earlier today.
    """

    working_days: int
    overdue: bool

    @property
    def label_zh(self) -> str:
        """Display text: 剩余3个工作日 / 今日到期 / 已超期 / 已超期2个工作日."""
        if self.overdue:
            n = -self.working_days
            return f"已超期{n}个工作日" if n else "已超期"
        if self.working_days == 0:
            return "今日到期"
        return f"剩余{self.working_days}个工作日"


def _judged_at(due: Deadline | datetime, now: datetime) -> tuple[datetime, datetime]:
    """The due moment and the moment to judge at (frozen at the pause start while paused)."""
    if isinstance(due, Deadline):
        if due.paused_since is not None and due.paused_since < now:
            return due.at, due.paused_since
        return due.at, now
    return due, now


def time_left(due: Deadline | datetime, now: datetime, calendar: WorkCalendar) -> TimeLeft:
    """Working days from ``now`` (or the pause start) to the due day.

    Raises ValueError for naive datetimes.
    """
    at, when = _judged_at(due, now)
    days = calendar.working_days_between(when, at)
    return TimeLeft(working_days=days, overdue=when > at)


def item_light(
    due: Deadline | datetime,
    now: datetime,
    calendar: WorkCalendar,
    *,
    warn_working_days: int = WARN_WORKING_DAYS,
) -> Light:
    """The light of one open item. Raises ValueError for naive datetimes or a negative warning."""
    if warn_working_days < 0:
        raise ValueError(f"warn_working_days must be >= 0, got {warn_working_days}")
    left = time_left(due, now, calendar)
    if left.overdue:
        return Light.RED
    if left.working_days <= warn_working_days:
        return Light.YELLOW
    return Light.GREEN


def case_light(open_item_lights: Iterable[Light]) -> Light:
    """The worst light among a case's open items; green when none is open."""
    return max(open_item_lights, default=Light.GREEN)
