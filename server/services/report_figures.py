"""The figures of each report seed 001 and 004 prescribe, and when each is due.

Seed 001 四（四）「建立工作台账，定期做好评估分析」: 每月5日 the previous month's
《重点招商项目情况表》、《重点招商信息跟踪反馈单》和《重点招商项目服务清单》; 每季度第一个月15日前
the previous quarter's report; 每年1月底以前 the year's summary. Seed 004 六、保障措施 (its last
paragraph): the departments report their work 6月30日、12月25日前 (the half-yearly reports).

Counts are of approval items (审批事项, the ``handle_item`` task of ``department_item``), never
of tasks. The quarterly and annual figures are the sums of their months (each month counted
with the same :func:`month_summary`), so a quarter always equals its three monthly reports.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import Case, County, WorkItem
from server.services import reports
from server.services.calendar import default_county
from server.services.catalog import current_catalog
from server.services.errors import ValidationFailedError
from server.services.rollups import bad_ratings_by_county, complaints_by_county, one_county
from server.services.tenancy import CountyScope

HANDLING_ELEMENT = reports.HANDLING_ELEMENT
KINDS = ("monthly", "quarterly", "annual", "half_year")
KIND_TITLES = {"monthly": "重点招商项目情况表", "quarterly": "季度招商引资情况报告",
               "annual": "年度招商引资工作总结", "half_year": "各部门帮办代办工作落实情况（半年）"}
#: Where each report is prescribed (shown on screen beside the due date).
KIND_SOURCES = {
    "monthly": "种子文件001 四（四）：每月5日报送上月《重点招商项目情况表》"
               "《重点招商信息跟踪反馈单》《重点招商项目服务清单》",
    "quarterly": "种子文件001 四（四）：每季度第一个月15日前报送上季度招商引资情况报告",
    "annual": "种子文件001 四（四）：每年1月底以前报送上年度招商引资工作总结",
    "half_year": "种子文件004 六、保障措施：县级各部门工作落实情况分别于6月30日、12月25日前报送",
}
#: The additive monthly figures; a quarter's or a year's are their sums.
SUMMARY_FIELDS = ("new", "completed", "terminated", "rejected", "items_done", "items_late",
                  "investment_new")
SUMMARY_HEADERS = ("月份", "新受理项目", "办结项目", "终止项目", "不予受理", "办结审批事项",
                   "其中超期办结", "新受理项目投资额（万元）")
DEPARTMENT_FIELDS = ("started", "done", "on_time", "late", "open_at_end", "open_late_at_end")
DEPARTMENT_HEADERS = ("部门", "开始办理事项", "办结事项", "其中按时办结", "其中超期办结",
                      "期末在办事项", "期末超期在办")
SERVICE_HEADERS = ("序号", "项目编号", "项目名称", "企业名称", "投资额（万元）", "服务事项",
                   "责任部门", "开始办理", "承诺办结", "办结日期", "办理情况")
#: ``Report.county`` of the prefecture's own reports: every county's cases, and (monthly) the
#: counties compared.
PREFECTURE = "*"
COUNTY_FIELDS = ("new", "completed", "terminated", "items_done", "items_on_time",
                 "items_late", "on_time_rate", "bad_ratings", "complaints",
                 "complaints_upheld", "investment_new")
COUNTY_HEADERS = ("县（市）", "新受理项目", "办结项目", "终止项目", "办结审批事项", "其中按时办结",
                  "其中超期办结", "按时办结率（%）", "差评", "投诉", "其中成立",
                  "新受理项目投资额（万元）")
FEEDBACK_HEADERS = ("序号", "项目编号", "项目名称", "企业名称", "进展情况", "存在问题",
                    "下步计划", "填报人")


@dataclass(frozen=True)
class Period:
    """One report's period: its kind, key (``2026-11``, ``2026-Q4``, ``2026``, ``2026-H2``),
    the months it covers and the day it is due."""

    kind: str
    key: str
    months: tuple[tuple[int, int], ...]
    due_on: date

    @property
    def label(self) -> str:
        first, last = self.months[0], self.months[-1]
        if self.kind == "monthly":
            return f"{first[0]}年{first[1]}月"
        if self.kind == "quarterly":
            return f"{first[0]}年第{(first[1] - 1) // 3 + 1}季度"
        if self.kind == "annual":
            return f"{first[0]}年度"
        return f"{first[0]}年{'上' if first[1] == 1 else '下'}半年（{first[1]}—{last[1]}月）"

    @property
    def title(self) -> str:
        return f"{KIND_TITLES[self.kind]}（{self.label}）"


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_of(kind: str, key: str) -> Period:
    """The period ``key`` of ``kind``. Raises ``ValidationFailedError`` when it is not one."""
    key = (key or "").strip()
    patterns = {"monthly": r"(\d{4})-(\d{2})", "quarterly": r"(\d{4})-Q([1-4])",
                "annual": r"(\d{4})", "half_year": r"(\d{4})-H([12])"}
    found = re.fullmatch(patterns.get(kind, r"$^"), key)
    if kind not in KINDS or found is None:
        raise ValidationFailedError(f"no {kind!r} report period {key!r}",
                                    {"period": ["如 2026-11、2026-Q4、2026、2026-H2"]})
    year = int(found.group(1))
    if not 2000 <= year <= 2100:
        raise ValidationFailedError("year out of range", {"period": ["年份应在2000—2100之间"]})
    if kind == "monthly":
        month = int(found.group(2))
        if not 1 <= month <= 12:
            raise ValidationFailedError("month out of range", {"period": ["月份应为01—12"]})
        ny, nm = _next_month(year, month)
        return Period(kind, key, ((year, month),), date(ny, nm, 5))
    if kind == "quarterly":
        q = int(found.group(2))
        months = tuple((year, m) for m in range(3 * q - 2, 3 * q + 1))
        ny, nm = _next_month(*months[-1])
        return Period(kind, key, months, date(ny, nm, 15))
    if kind == "annual":
        return Period(kind, key, tuple((year, m) for m in range(1, 13)), date(year + 1, 1, 31))
    half = int(found.group(2))
    months = tuple((year, m) for m in range(1, 7) if half == 1) or \
        tuple((year, m) for m in range(7, 13))
    return Period(kind, key, months, date(year, 6, 30) if half == 1 else date(year, 12, 25))


def periods_due_to_prepare(today: date) -> list[Period]:
    """What the 1st of ``today``'s month prepares: last month's table; last quarter's report
    in the quarter's first month; last year's summary in January; the half-year's department
    report in the month it is due (June, December)."""
    last = today.replace(day=1) - timedelta(days=1)
    found = [period_of("monthly", f"{last.year}-{last.month:02d}")]
    if today.month in (1, 4, 7, 10):
        found.append(period_of("quarterly", f"{last.year}-Q{(last.month - 1) // 3 + 1}"))
    if today.month == 1:
        found.append(period_of("annual", str(last.year)))
    if today.month in (6, 12):
        found.append(period_of("half_year", f"{today.year}-H{1 if today.month == 6 else 2}"))
    return found


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def _of(scope: CountyScope | None) -> list[Any]:
    """The condition on ``Case`` of ``scope`` (none for None: every county)."""
    return [] if scope is None else [scope.case_condition()]


def _items_of(scope: CountyScope | None) -> list[Any]:
    """The condition on ``WorkItem``: its case lies in ``scope``."""
    return [] if scope is None else [WorkItem.case_id.in_(scope.case_ids())]


def month_summary(year: int, month: int, scope: CountyScope | None = None) -> dict[str, Any]:
    """One month's additive figures: cases started, finished, terminated and refused in it,
    approval items finished in it (and of them late), and the new cases' investment; of
    ``scope``'s counties' cases (None: every county)."""
    start, end = reports._month_bounds(year, month)
    out: dict[str, Any] = {"month": f"{year}-{month:02d}", **{k: 0 for k in SUMMARY_FIELDS}}
    investment = 0.0
    for status, started_at, ended_at, summary in db.session.execute(
            select(Case.status, Case.started_at, Case.ended_at, Case.summary).where(
                ((Case.started_at >= start) & (Case.started_at < end))
                | ((Case.ended_at >= start) & (Case.ended_at < end)), *_of(scope))).all():
        if start <= started_at < end:
            out["new"] += 1
            investment += _number(json.loads(summary or "{}").get("investment_wan"))
        if ended_at is not None and start <= ended_at < end and status in (
                "completed", "terminated", "rejected"):
            out[status] += 1
    for completed_at, due_at in db.session.execute(
            select(WorkItem.completed_at, WorkItem.due_at).where(
                WorkItem.element_is(HANDLING_ELEMENT), WorkItem.state == "completed",
                WorkItem.completed_at >= start, WorkItem.completed_at < end,
                *_items_of(scope))).all():
        out["items_done"] += 1
        if due_at is not None and completed_at is not None and completed_at > due_at:
            out["items_late"] += 1
    out["investment_new"] = _whole(investment)
    return out


def summed(months: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of monthly summaries (the quarter's or the year's total row)."""
    total: dict[str, Any] = {"month": "合计"}
    for key in SUMMARY_FIELDS:
        total[key] = _whole(sum(_number(m[key]) for m in months))
    return total


def service_list(year: int, month: int, case_ids: list[str]) -> list[dict[str, Any]]:
    """《重点招商项目服务清单》: each approval item of the month's cases served up to the month's
    end — its department, when handling began, its promised deadline, when it was done."""

    if not case_ids:
        return []
    _, end = reports._month_bounds(year, month)
    fallback = default_county()
    rows = []
    for case_id, context, state, created_at, due_at, completed_at, groups, county in \
            db.session.execute(
            select(WorkItem.case_id, WorkItem.context, WorkItem.state, WorkItem.created_at,
                   WorkItem.due_at, WorkItem.completed_at, WorkItem.candidate_groups,
                   Case.county)
            .join(Case, Case.id == WorkItem.case_id)
            .where(WorkItem.case_id.in_(case_ids), WorkItem.element_is(HANDLING_ELEMENT),
                   WorkItem.state != "cancelled", WorkItem.created_at < end)
            .order_by(WorkItem.created_at, WorkItem.id)).all():
        item = (json.loads(context or "{}") or {}).get("item") or {}
        code = str(item.get("code") or "")
        catalog = current_catalog(county or fallback)  # the case's county's (kept)
        known = catalog.get(code) if code in catalog else None
        finished = completed_at if state == "completed" and completed_at is not None \
            and completed_at < end else None
        done = finished is not None
        late = due_at is not None and ((finished is not None and finished > due_at)
                                       or (finished is None and due_at < end))
        rows.append({
            "case_id": case_id, "item": str(item.get("name") or (known.name if known else code)),
            "department": str(item.get("department") or (known.department if known else "")
                              or (groups or "").split(",")[0]),
            "started": reports._local_day(created_at), "due": reports._local_day(due_at),
            "done": reports._local_day(completed_at) if done else "",
            "state": ("超期办结" if late else "按时办结") if done else
                     ("超期在办" if late else "在办")})
    return rows


def department_summary(months: tuple[tuple[int, int], ...], as_of: datetime,
                       scope: CountyScope | None = None) -> list[dict[str, Any]]:
    """Per department, over ``months`` up to ``as_of``: approval items begun, finished (on
    time, late), and in hand at the end (of them past due)."""
    start = reports._month_bounds(*months[0])[0]
    end = min(reports._month_bounds(*months[-1])[1], as_of)
    found: dict[str, dict[str, Any]] = {}
    for context, groups, state, created_at, due_at, completed_at in db.session.execute(
            select(WorkItem.context, WorkItem.candidate_groups, WorkItem.state,
                   WorkItem.created_at, WorkItem.due_at, WorkItem.completed_at)
            .where(WorkItem.element_is(HANDLING_ELEMENT), WorkItem.state != "cancelled",
                   WorkItem.created_at < end, *_items_of(scope))).all():
        finished = completed_at if state == "completed" and completed_at is not None \
            and completed_at < end else None
        done_here = finished is not None and finished >= start
        open_at_end = finished is None and state in ("ready", "completed")
        if not (done_here or open_at_end or created_at >= start):
            continue
        item = (json.loads(context or "{}") or {}).get("item") or {}
        code = str(item.get("department") or (groups or "").split(",")[0])
        row = found.setdefault(code, {"department": code, **{k: 0 for k in DEPARTMENT_FIELDS}})
        row["started"] += int(created_at >= start)
        if finished is not None and done_here:
            row["done"] += 1
            row["late" if due_at is not None and finished > due_at else "on_time"] += 1
        if open_at_end:
            row["open_at_end"] += 1
            row["open_late_at_end"] += int(due_at is not None and due_at < end)
    return sorted(found.values(), key=lambda r: r["department"])


def report_scope(county: str) -> CountyScope | None:
    """The cases a report of ``county`` counts ("": the default county's; None for the
    prefecture's, or when the installation has no county at all: every case, as before
    tenancy)."""
    default = default_county()
    code = county or default
    return None if code is None or code == PREFECTURE else one_county(code, default)


def county_comparison(year: int, month: int) -> list[dict[str, Any]]:
    """The prefecture's monthly 各县（市）对比: per county (the default first), the month's
    figures of the county's own monthly report (``month_summary`` of its scope), the
    approval items finished in time and the on-time rate, cases rated 差 and complaints
    filed (of them decided 成立 or 部分成立) in the month."""
    start, end = reports._month_bounds(year, month)
    default = default_county()
    bad = bad_ratings_by_county(default or "", start, end)
    filed, upheld = complaints_by_county(default or "", start, end)
    out = []
    for code, name in db.session.execute(
            select(County.code, County.name).order_by(County.is_default.desc(), County.code)):
        summary = month_summary(year, month, one_county(code, default))
        done, late = summary["items_done"], summary["items_late"]
        out.append({**summary, "county": code, "name": name,
                    "items_on_time": done - late,
                    "on_time_rate": round(100 * (done - late) / done, 1) if done else "",
                    "bad_ratings": bad[code], "complaints": filed[code],
                    "complaints_upheld": upheld[code]})
    return out


def build(period: Period, as_of: datetime, county: str = "") -> dict[str, Any]:
    """The frozen content of a report of ``period`` for ``county``'s cases, prepared at
    ``as_of``."""
    scope = report_scope(county)
    content: dict[str, Any] = {"title": period.title, "as_of": reports._local_day(as_of)}
    if period.kind == "monthly":
        year, month = period.months[0]
        rows = reports.monthly_rows(year, month, scope)
        content["rows"] = [{"case_id": r.case_id, "cells": reports._cells(n, r)}
                           for n, r in enumerate(rows, 1)]
        content["services"] = service_list(year, month, [r.case_id for r in rows])
        content["summary"] = month_summary(year, month, scope)
        content["totals"] = {k: sum(getattr(r, k) for r in rows)
                             for k in ("items", "done_items", "open_items", "late_items")}
        if county == PREFECTURE:
            content["counties"] = county_comparison(year, month)
    elif period.kind in ("quarterly", "annual"):
        months = [month_summary(y, m, scope) for y, m in period.months]
        content["months"] = months
        content["total"] = summed(months)
    else:
        content["departments"] = department_summary(period.months, as_of, scope)
        content["months"] = [month_summary(y, m, scope) for y, m in period.months
                             if reports._month_bounds(y, m)[0] < as_of]
        content["total"] = summed(content["months"])
    return content
