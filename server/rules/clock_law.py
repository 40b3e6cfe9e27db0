"""The lawful item clock: when an approval item's period starts, what stops it, when it is due.

An item's clock record (``item_clock`` in the ``department_item`` diagram)::

    {"received_at": iso | None,   # the department first received the materials
     "started_at": iso | None,    # 受理: the application accepted as complete
     "pauses": [{"start": iso, "end": iso | None, "reason": str, "kind": str,
                 "cap_days": int | None, "article": str}, ...]}

The law, as the clock applies it:

* **补正 (supplementing materials), 行政许可法 Art. 32.** Incomplete materials are not accepted;
  the department tells the applicant once what to supplement (Art. 32 (四)), and accepts the
  application (受理) once the materials are complete (Art. 32 (五)). The decision period runs
  from 受理 (Art. 42: 自受理行政许可申请之日起). So by default (``restart``) the period starts on
  the day the complete materials arrive, and the days before do not count at all. A county may
  choose ``pause`` instead (its setting, shown on its page): the period runs from the first
  receipt and only the 补正 intervals are left out.
* **Art. 45 exclusions.** 听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审: 所需时间不计算在本节
  规定的期限内; the department must tell the applicant the time needed in writing — that time
  is the pause's cap.
* **公示.** A publicity period a regulation requires before the decision; its basis and cap are
  the county's setting.
* **Upward referral (上报州/省审批).** Art. 43: where a lower authority examines and a higher one
  decides, the county examines within its period and forwards; from then on the item is with
  the higher level (上级审批中), tracked, and never overdue on the county's clock.
* **Limit kinds.** Art. 82 makes this law's own limits working days; a statute that says 日
  (环评法, 建筑法 …) counts calendar days (:class:`server.rules.workdays.LimitKind`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from server.rules.workdays import REFERRAL as REFERRAL  # the law's pause kinds, named here
from server.rules.workdays import (
    ClockPauses,
    Deadline,
    LimitKind,
    Pause,
    WorkCalendar,
    deadline_with_pauses,
)

#: The kind of the 补正 interval the diagram records.
SUPPLEMENT = "supplement"
PUBLICITY = "publicity"

ART_32 = "《中华人民共和国行政许可法》第三十二条、第四十二条"
ART_32_EN = "Administrative Licensing Law, Arts. 32 and 42"
ART_43 = "《中华人民共和国行政许可法》第四十三条"
ART_43_EN = "Administrative Licensing Law, Art. 43"
ART_45 = "《中华人民共和国行政许可法》第四十五条"
ART_45_EN = "Administrative Licensing Law, Art. 45"
PUBLICITY_BASIS = "依照相关法规规定的公示期（本县设置）"
PUBLICITY_BASIS_EN = "the publicity period a regulation requires (this county's setting)"


@dataclass(frozen=True)
class PauseKind:
    """A reason the law gives for leaving time out of a period."""

    code: str
    label_zh: str
    label_en: str
    article_zh: str
    article_en: str
    #: Whether a department may start it on an open item (补正 belongs to the diagram).
    department_action: bool = True


PAUSE_KINDS: dict[str, PauseKind] = {k.code: k for k in (
    PauseKind(SUPPLEMENT, "补正材料", "supplementing materials", ART_32, ART_32_EN, False),
    PauseKind("hearing", "听证", "hearing", ART_45, ART_45_EN),
    PauseKind("tender", "招标", "tendering", ART_45, ART_45_EN),
    PauseKind("auction", "拍卖", "auction", ART_45, ART_45_EN),
    PauseKind("inspection", "检验", "inspection", ART_45, ART_45_EN),
    PauseKind("testing", "检测", "testing", ART_45, ART_45_EN),
    PauseKind("quarantine", "检疫", "quarantine", ART_45, ART_45_EN),
    PauseKind("appraisal", "鉴定", "appraisal", ART_45, ART_45_EN),
    PauseKind("expert_review", "专家评审", "expert review", ART_45, ART_45_EN),
    PauseKind(PUBLICITY, "公示", "publicity period", PUBLICITY_BASIS, PUBLICITY_BASIS_EN),
    PauseKind(REFERRAL, "上报州（市）/省审批", "referred to the prefecture/province",
              ART_43, ART_43_EN),
)}


def pause_kind(code: str) -> PauseKind:
    """The pause kind named ``code``; raises ValueError for an unknown one."""
    try:
        return PAUSE_KINDS[code]
    except KeyError:
        raise ValueError(f"unknown pause kind {code!r}; known: {', '.join(PAUSE_KINDS)}") from None


class Art32Mode(StrEnum):
    """How 补正 affects the period: restart from 受理 (the law's default) or pause."""

    RESTART = "restart"
    PAUSE = "pause"

    @property
    def label_zh(self) -> str:
        return ("材料补齐之日（受理）起重新计算" if self is Art32Mode.RESTART
                else "补正期间暂停计时，自收到材料起连续计算")


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def pauses_of(item_clock: dict[str, Any]) -> list[Pause]:
    """The pauses recorded in an ``item_clock``; raises ValueError on malformed times."""
    out = []
    for p in item_clock.get("pauses") or []:
        cap = p.get("cap_days")
        out.append(Pause(datetime.fromisoformat(p["start"]), _when(p.get("end")),
                         str(p.get("reason") or ""),
                         # Old records name only the reason: 补正 was the only pause there was.
                         str(p.get("kind") or SUPPLEMENT),
                         int(cap) if cap not in (None, "") else None))
    return out


def counting_start(item_clock: dict[str, Any], mode: Art32Mode | str = Art32Mode.RESTART
                   ) -> tuple[datetime, list[Pause], Pause | None]:
    """Where the period starts, the pauses that still count, and an open 补正 if any.

    Raises ValueError when the record has no start or a malformed time.
    """
    mode = Art32Mode(mode)
    pauses = pauses_of(item_clock)
    supplements = [p for p in pauses if p.kind == SUPPLEMENT]
    others = [p for p in pauses if p.kind != SUPPLEMENT]
    open_supplement = next((p for p in supplements if p.end is None), None)
    started = _when(item_clock.get("started_at"))
    received = _when(item_clock.get("received_at")) or started
    if mode is Art32Mode.PAUSE:
        if received is None:
            raise ValueError("the item clock has not started")
        return received, pauses, open_supplement
    if started is None:
        if received is None:
            raise ValueError("the item clock has not started")
        started = received
    # 受理 happens once the materials are complete: the last 补正 to end restarts the period.
    ends = [p.end for p in supplements if p.end is not None and p.end > started]
    return (max(ends) if ends else started), others, open_supplement


def item_deadline(item_clock: dict[str, Any], days: int, calendar: WorkCalendar, *,
                  limit_kind: LimitKind | str = LimitKind.WORKING,
                  art32_mode: Art32Mode | str = Art32Mode.RESTART) -> Deadline:
    """When an item is due: ``days`` (working or calendar) after its period started, moved by
    the pauses that count. While 补正 is open the clock stands still (``paused_since``).

    Raises ValueError on a malformed record, a negative ``days`` or an unknown kind or mode.
    """
    start, pauses, open_supplement = counting_start(item_clock, art32_mode)
    due = deadline_with_pauses(start, int(days), ClockPauses(tuple(pauses)), calendar,
                               limit_kind=limit_kind)
    if open_supplement is not None and not due.paused and not due.referred:
        return Deadline(due.at, due.provisional, paused_since=max(open_supplement.start, start))
    return due


# -- lights as data ------------------------------------------------------------------------
@dataclass(frozen=True)
class LightRule:
    """When an item turns yellow: remaining time at most ``share`` of its limit, and never
    less than ``min_days`` days ahead (到期预警). A county's setting; the defaults are 20 % and
    1 working day."""

    share: float = 0.2
    min_days: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.share <= 1:
            raise ValueError(f"the yellow share must lie between 0 and 1, got {self.share}")
        if self.min_days < 0:
            raise ValueError(f"the yellow minimum must be >= 0 days, got {self.min_days}")

    def threshold(self, limit_days: int | None) -> int:
        """Days left at which the light turns yellow, for a limit of ``limit_days``."""
        if not limit_days:
            return self.min_days
        return max(self.min_days, math.ceil(self.share * limit_days - 1e-9))

    def describe_zh(self, limit_days: int | None, kind: LimitKind = LimitKind.WORKING) -> str:
        """E.g. 剩余不超过时限的20%（时限10个工作日，即2个工作日），且至少1个工作日时亮黄灯."""
        unit = kind.unit_zh
        if not limit_days:
            return f"剩余不超过{self.min_days}{unit}时亮黄灯"
        return (f"剩余不超过时限的{round(self.share * 100)}%（时限{limit_days}{unit}，即"
                f"{self.threshold(limit_days)}{unit}），且至少{self.min_days}{unit}时亮黄灯")


def warning_instant(due: Deadline, threshold: int, calendar: WorkCalendar, now: datetime, *,
                    limit_kind: LimitKind | str = LimitKind.WORKING) -> datetime:
    """When the yellow-light reminder fires: the close of office ``threshold`` days (of the
    limit's kind) before the due day, or — when that is already past — within four hours of
    ``now`` and never after the due moment."""
    kind = LimitKind.of(limit_kind)
    due_day = calendar.local_date(due.at)
    if threshold <= 0:
        opens = calendar.office_hours.open_on(due_day)
        at = datetime.combine(due_day, opens, tzinfo=calendar.tz).astimezone(UTC)
    else:
        day, left = due_day, threshold
        while left > 0:
            day -= timedelta(days=1)
            if kind is LimitKind.CALENDAR or calendar.is_working_day(day):
                left -= 1
        at = calendar.end_of_day(day)
    if at <= now:
        return min(now + timedelta(hours=4), due.at).astimezone(UTC)
    return at
