"""Department scorecards (效能): what each department received, finished on time and late,
its 补正 rounds, bad ratings and upheld complaints, per month, quarter or year.

Seed 004 六(二): departments that do not work conscientiously, pass the buck, or whose projects
rate them badly are named in a county-wide 通报批评, and the results count in the 营商环境考评;
these figures are what such a 通报 rests on.

Approval ITEMS are counted, not tasks, as the dashboard counts them (``services.dashboard``):
an item is a case's approval item handled in ``handle_item``; it is received at 受理 (its first
handling task opens), finished when its last handling task is completed, and on time when that
was by its due moment. A handling task that went to the joint meeting and came back is the same
item. Working days are counted on the calendar of the case's county.

- 逾期: items finished late in the period, plus items still open at the period's end (or now)
  past their due moment; with the working days overdue (as the dashboard's red list counts).
- 补正: rounds of ``supply_materials`` (企业补正材料) opened in the period for the item.
- 差评: cases rated 差 (满意度不高于2级, the process's ``call_back_and_rectify``) in the period,
  counted for every department that handled an item of the case.
- 平均办理天数 / 平均承诺天数: from 受理 to 办结 of the items finished in the period, against the
  catalog's 承诺时限 of the same items (each in its own unit: working or calendar days).
- 投诉成立: complaints about the department decided 成立 or 部分成立 in the period.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import Case, User, WorkItem
from server.rules.lights import time_left
from server.services.calendar import current_calendar, default_county
from server.services.catalog import current_catalog
from server.services.complaints import upheld_by_department
from server.services.dashboard import HANDLING_ELEMENT, item_context
from server.services.errors import PermissionDeniedError, ValidationFailedError
from server.services.spreadsheet import Sheet, workbook
from server.services.task_rows import calendar
from server.services.tenancy import county_scope

#: Leaders, the bureau's head, the supervision office (and auditors and administrators) read
#: scorecards; enterprises and departments do not.
VIEWERS = frozenset({"leader", "bureau_head", "supervision", "auditor", "admin"})
SUPPLEMENT_ELEMENT = "supply_materials"
BAD_RATING_ELEMENT = "call_back_and_rectify"
KINDS = {"month": "月度", "quarter": "季度", "year": "年度"}


@dataclass(frozen=True)
class Period:
    kind: str
    first: date  # first local day
    end: date  # the day after the last

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.first.year}年{self.first.month}月"
        if self.kind == "quarter":
            return f"{self.first.year}年第{(self.first.month - 1) // 3 + 1}季度"
        return f"{self.first.year}年"

    @property
    def value(self) -> str:
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return str(self.first.year)


def period_of(kind: str, value: str, today: date | None = None) -> Period:
    """The period ``kind`` (month/quarter/year) named ``value`` (2026-11, 2026-Q4, 2026; empty:
    the current one). Raises ``ValidationFailedError``."""
    today = today or date.today()
    kind = kind or "month"
    value = (value or "").strip()
    if kind not in KINDS:
        raise ValidationFailedError("unknown period", {"period": ["统计周期须为月、季或年"]})
    try:
        if kind == "month":
            m = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
            year, month = (int(m[1]), int(m[2])) if m else (
                (today.year, today.month) if not value else (0, 0))
            first = date(year, month, 1)
            end = date(year + month // 12, month % 12 + 1, 1)
        elif kind == "quarter":
            m = re.fullmatch(r"(\d{4})-?Q([1-4])", value, re.IGNORECASE)
            year, q = (int(m[1]), int(m[2])) if m else (
                (today.year, (today.month - 1) // 3 + 1) if not value else (0, 0))
            first = date(year, 3 * q - 2, 1)
            end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
        else:
            year = int(value) if value else today.year
            first, end = date(year, 1, 1), date(year + 1, 1, 1)
    except (ValueError, TypeError):
        raise ValidationFailedError("unknown period", {
            "at": ["请按 2026-11（月）、2026-Q4（季）或 2026（年）填写"]}) from None
    return Period(kind, first, end)


@dataclass
class DepartmentScore:
    code: str
    received: int = 0
    finished: int = 0
    on_time: int = 0
    overdue: int = 0
    overdue_open: int = 0  # of ``overdue``: still open at the period's end
    overdue_days: int = 0
    supplement_rounds: int = 0
    bad_ratings: int = 0
    complaints_upheld: int = 0
    handling_days: list[int] = field(default_factory=list)
    promised_days: list[int] = field(default_factory=list)

    @property
    def average_days(self) -> float | None:
        return (round(sum(self.handling_days) / len(self.handling_days), 1)
                if self.handling_days else None)

    @property
    def average_promised(self) -> float | None:
        return (round(sum(self.promised_days) / len(self.promised_days), 1)
                if self.promised_days else None)

    @property
    def on_time_rate(self) -> float | None:
        return None if not self.finished else round(100 * self.on_time / self.finished, 1)

    @property
    def active(self) -> bool:
        return bool(self.received or self.finished or self.overdue or self.supplement_rounds
                    or self.bad_ratings or self.complaints_upheld)

    def add(self, other: DepartmentScore) -> None:
        for name in ("received", "finished", "on_time", "overdue", "overdue_open",
                     "overdue_days", "supplement_rounds", "bad_ratings", "complaints_upheld"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.handling_days += other.handling_days
        self.promised_days += other.promised_days


@dataclass
class Scorecard:
    period: Period
    departments: list[DepartmentScore]
    total: DepartmentScore
    made_at: datetime


def require_viewer(user: User) -> None:
    """Raises ``PermissionDeniedError`` unless ``user`` may read scorecards."""
    if not user.group_codes & VIEWERS:
        raise PermissionDeniedError("only leaders and the supervision office read scorecards")


def _utc(day: date) -> datetime:

    return datetime.combine(day, time(0), calendar().tz).astimezone(UTC)


def _promise(catalog: Any, code: str) -> tuple[int | None, str]:
    """The item's 承诺时限 and its unit, from the catalog (a work item's context names the
    item by code only)."""
    known = catalog.get(code) if code in catalog else None
    return (known.promised_days, known.limit_kind) if known else (None, "working")


def scorecard(user: User, period: Period, now: datetime | None = None) -> Scorecard:
    """Every department's figures for ``period``. Raises ``PermissionDeniedError``."""

    require_viewer(user)
    scope = county_scope(user)  # a county's scorecard counts its own cases only
    now = now or clock.now()
    start, end = _utc(period.first), _utc(period.end)
    judge_at = min(end, now)
    fallback = default_county()
    calendars: dict[str | None, Any] = {}

    def calendar_of(county: str | None) -> Any:
        county = county or fallback
        if county not in calendars:
            calendars[county] = current_calendar(county=county)
        return calendars[county]

    scores: dict[str, DepartmentScore] = {}

    def score(code: str) -> DepartmentScore:
        return scores.setdefault(code, DepartmentScore(code))

    # Handling tasks of items received before the period's end (items: case × item code).
    rows = db.session.execute(
        select(WorkItem.id, WorkItem.case_id, WorkItem.element_id, WorkItem.state,
               WorkItem.created_at, WorkItem.completed_at, WorkItem.due_at,
               WorkItem.candidate_groups, WorkItem.context, Case.county)
        .join(Case, Case.id == WorkItem.case_id)
        .where(WorkItem.element_is(HANDLING_ELEMENT, SUPPLEMENT_ELEMENT),
               WorkItem.created_at < end, scope.case_condition())
        .order_by(WorkItem.created_at, WorkItem.id)).all()
    items: dict[tuple[str, str], list[Any]] = defaultdict(list)
    departments_of_case: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        context = item_context(row.id, row.context)
        department = context.department or (row.candidate_groups.split(",")[0]
                                            if row.element_id == HANDLING_ELEMENT else "")
        if row.element_id == SUPPLEMENT_ELEMENT:
            if department and row.created_at >= start:
                score(department).supplement_rounds += 1
            continue
        items[(row.case_id, context.code or row.id)].append((row, department))
        departments_of_case[row.case_id].add(department)

    for (_, code), handling in items.items():
        first, department = handling[0]
        last, _ = handling[-1]
        calendar = calendar_of(first.county)
        catalog = current_catalog(first.county or fallback)  # the case's county's (kept)
        mine = score(department)
        if first.created_at >= start:
            mine.received += 1
        finished_at = last.completed_at if last.state == "completed" else None
        due = last.due_at
        if finished_at is not None and start <= finished_at < end:
            mine.finished += 1
            promised, kind = _promise(catalog, code)
            mine.handling_days.append(calendar.days_between(first.created_at, finished_at,
                                                            kind))
            if promised is not None:
                mine.promised_days.append(promised)
            if due is None or finished_at <= due:
                mine.on_time += 1
            else:
                mine.overdue += 1
                mine.overdue_days += -time_left(due, finished_at, calendar).working_days
        elif (finished_at is None or finished_at >= end) and last.state != "cancelled" \
                and due is not None and start < judge_at and due < judge_at:
            mine.overdue += 1
            mine.overdue_open += 1
            mine.overdue_days += -time_left(due, judge_at, calendar).working_days

    # 差评: the process opens call_back_and_rectify for a rating of 2 or less; a case is rated
    # after its items were handled, so their rows (created before the period's end) are read.
    rated = db.session.execute(
        select(WorkItem.case_id).where(WorkItem.element_is(BAD_RATING_ELEMENT),
                                       WorkItem.created_at >= start,
                                       WorkItem.created_at < end)).scalars().all()
    for case_id in rated:
        for department in departments_of_case.get(case_id, ()):
            score(department).bad_ratings += 1

    for department, n in upheld_by_department(start, end, scope).items():
        score(department).complaints_upheld += n

    # A department is listed when the period holds something of it.
    departments = sorted((s for s in scores.values() if s.code and s.active),
                         key=lambda s: s.code)
    total = DepartmentScore("")
    for s in departments:
        total.add(s)
    return Scorecard(period, departments, total, now)


HEADERS = ("部门", "受理事项", "办结事项", "按时办结", "按时办结率(%)", "逾期事项",
           "其中未办结", "逾期工作日合计", "补正轮次", "差评", "投诉成立",
           "平均办理天数", "平均承诺天数")


def table_rows(card: Scorecard, names: dict[str, tuple[str, str]]) -> list[list[Any]]:
    """The scorecard as rows under ``HEADERS`` (the page, the print and the .xlsx alike)."""
    def row(name: str, s: DepartmentScore) -> list[Any]:
        return [name, s.received, s.finished, s.on_time, s.on_time_rate, s.overdue,
                s.overdue_open, s.overdue_days, s.supplement_rounds, s.bad_ratings,
                s.complaints_upheld, s.average_days, s.average_promised]

    out = [row(names[s.code][0] if s.code in names else s.code, s) for s in card.departments]
    out.append(row("合计", card.total))
    return out


def xlsx(card: Scorecard, names: dict[str, tuple[str, str]]) -> bytes:
    """The scorecard as an .xlsx (``spreadsheet.workbook``)."""

    return workbook([Sheet(
        name=f"效能{card.period.value}", headers=HEADERS, rows=table_rows(card, names),
        title=f"各部门帮办代办效能统计（{card.period.label}）",
        notes=NOTES)])


NOTES = (
    "按审批事项计数（不含报到、提醒等环节任务）；工作日按案件所在县的工作日历计算。",
    "逾期：本期办结但超过到期时刻的事项，加上期末（或当前）仍未办结且已超期的事项。",
    "差评：企业满意度评价不高于2级的案件，计入办理过该案事项的每个部门。",
    "投诉成立：本期调查结论为“成立”或“部分成立”的投诉（依据：004号文件六（二））。",
    "平均办理天数：本期办结事项自受理至办结的天数；平均承诺天数：同一批事项在事项目录中的承诺时限。",
)
