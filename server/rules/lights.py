"""Traffic lights for supervision (绿灯/黄灯/红灯, seed 000 §六; 到期预警、超期警示).

* **red**: the due moment has passed (超期);
* **yellow**: the time left is at most the county's threshold (到期预警): a share of the item's
  limit (default 20 %) and at least a number of days (default 1 working day), see
  :class:`server.rules.clock_law.LightRule`; without a rule, ``warn_working_days`` (default 1);
* **green**: otherwise.

A paused item (Art. 45 exclusions, 公示) keeps the colour it had when its clock stopped: it is
judged at ``paused_since`` instead of now, until its cap runs out. An item with the prefecture
or province (上级审批中) is never red on the county: it is judged at the moment it was referred.
:func:`explain_light` says which rule made the light. A case shows the worst light of its open
items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING

from server.rules.workdays import Deadline, LimitKind, WorkCalendar

if TYPE_CHECKING:
    from server.rules.clock_law import LightRule

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
    """The due moment and the moment to judge at (frozen at the pause start while paused,
    until a capped pause runs out; frozen at the referral while the item is referred)."""
    if isinstance(due, Deadline):
        if due.referred_since is not None and due.referred_since < now:
            return due.at, due.referred_since
        if due.paused_since is not None and due.paused_since < now and (
                due.resumes_at is None or now < due.resumes_at):
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
    rule: LightRule | None = None,
    limit_days: int | None = None,
    limit_kind: LimitKind | str = LimitKind.WORKING,
) -> Light:
    """The light of one open item. Raises ValueError for naive datetimes or a negative warning."""
    return explain_light(due, now, calendar, warn_working_days=warn_working_days, rule=rule,
                         limit_days=limit_days, limit_kind=limit_kind).light


@dataclass(frozen=True)
class LightVerdict:
    """A light and, in words, the rule that made it (shown next to the light on pages)."""

    light: Light
    reason_zh: str
    reason_en: str
    referred: bool = False
    paused: bool = False

    @property
    def state_zh(self) -> str:
        """上级审批中 / 暂停计时 / the light's name."""
        if self.referred:
            return "上级审批中"
        if self.paused:
            return "暂停计时"
        return self.light.label_zh


def explain_light(
    due: Deadline | datetime,
    now: datetime,
    calendar: WorkCalendar,
    *,
    warn_working_days: int = WARN_WORKING_DAYS,
    rule: LightRule | None = None,
    limit_days: int | None = None,
    limit_kind: LimitKind | str = LimitKind.WORKING,
) -> LightVerdict:
    """The light of one open item with the rule that made it.

    With a ``rule`` (the county's :class:`~server.rules.clock_law.LightRule`) the yellow
    threshold is its share of ``limit_days``; without one, ``warn_working_days``. Days are
    counted in the limit's kind. Raises ValueError for naive datetimes or a negative warning.
    """
    if warn_working_days < 0:
        raise ValueError(f"warn_working_days must be >= 0, got {warn_working_days}")
    kind = LimitKind.of(limit_kind)
    unit = kind.unit_zh
    threshold = rule.threshold(limit_days) if rule is not None else warn_working_days
    at, when = _judged_at(due, now)
    left = calendar.days_between(when, at, kind)
    overdue = when > at
    referred = isinstance(due, Deadline) and due.referred_since is not None \
        and due.referred_since <= now
    paused = (not referred and isinstance(due, Deadline) and due.paused_since is not None
              and due.paused_since <= now and (due.resumes_at is None or now < due.resumes_at))
    if referred:
        return LightVerdict(Light.RED if overdue else Light.GREEN if left > threshold
                            else Light.YELLOW,
                            "已上报上级机关审批（上级审批中），本县计时停止，不因上级办理时间亮红灯",
                            "with the higher authority (referred): the county's clock stands "
                            "still and cannot turn red for the higher level's time",
                            referred=True)
    if paused:
        why_zh = "计时暂停中，保持暂停时的灯色；"
        why_en = "clock paused: the light it had when the pause began; "
    else:
        why_zh = why_en = ""
    if overdue:
        return LightVerdict(Light.RED, why_zh + "已超过到期时刻（超期警示）",
                            why_en + "past the due moment (overdue)", paused=paused)
    if rule is not None:
        rule_zh = rule.describe_zh(limit_days, kind)
        rule_en = (f"yellow when at most {round(rule.share * 100)}% of the limit "
                   f"({threshold} day(s)) and at least {rule.min_days} day(s) are left")
    else:
        rule_zh = f"剩余不超过{threshold}{unit}时亮黄灯"
        rule_en = f"yellow when at most {threshold} day(s) are left"
    if left <= threshold:
        return LightVerdict(Light.YELLOW, f"{why_zh}剩余{left}{unit}；{rule_zh}",
                            f"{why_en}{left} day(s) left; {rule_en}", paused=paused)
    return LightVerdict(Light.GREEN, f"{why_zh}剩余{left}{unit}；{rule_zh}",
                        f"{why_en}{left} day(s) left; {rule_en}", paused=paused)


def case_light(open_item_lights: Iterable[Light]) -> Light:
    """The worst light among a case's open items; green when none is open."""
    return max(open_item_lights, default=Light.GREEN)
