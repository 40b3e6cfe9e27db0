"""The monthly key-project table (重点招商项目情况表, seed 001), stored as CSV and HTML.

Seed 001 asks for last month's table by the 5th of each month. Each row is one case that was
open at some moment of the month: its project, enterprise, industry (in words), investment
(万元), when it applied, its state at the month's end, its approval items — done, in hand and
late by the month's end (items, not tasks). The files are
written to ``<instance>/reports/`` under a name per month; writing a month again replaces them
with the same content, so a repeated task changes nothing.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select

from server.engine import clock
from server.extensions import db
from server.models import Case, WorkItem
from server.services.dashboard import industry_words
from server.services.tenancy import CountyScope

# Counts are of approval items (审批事项), never of tasks: a 30-minute check-in or a reminder
# is not an item. An item is in hand from its handling task (handle_item) until it is done.
# 申请日期: the day the enterprise applied (the case's start), true to its name.
COLUMNS = ["序号", "项目编号", "项目名称", "企业名称", "行业", "投资额（万元）", "申请日期",
           "状态", "审批事项", "已办结事项", "在办事项", "超期事项", "办结日期"]
STATUS_ZH = {"running": "推进中", "completed": "已办结", "terminated": "已终止",
             "rejected": "不予受理"}
HANDLING_ELEMENT = "handle_item"


@dataclass(frozen=True)
class ReportRow:
    reference: str
    project: str
    enterprise: str
    industry: str
    investment_wan: str
    started: str
    status: str
    items: int
    done_items: int
    open_items: int
    late_items: int
    ended: str
    case_id: str = ""


def previous_month(today: date | None = None) -> tuple[int, int]:
    today = today or clock.now().date()
    last = today.replace(day=1) - timedelta(days=1)
    return last.year, last.month


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    # Months are Beijing months: a case accepted at 07:00 on the 1st belongs to that month.
    beijing = timedelta(hours=8)
    start = datetime(year, month, 1, tzinfo=UTC) - beijing
    nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC) - beijing
    return start, nxt


def monthly_rows(year: int, month: int, scope: CountyScope | None = None) -> list[ReportRow]:
    """The table's rows: cases (of ``scope``'s counties; None: all) open at some moment of
    the month, oldest first."""
    start, end = _month_bounds(year, month)
    cases = db.session.execute(
        select(Case).where(Case.started_at < end,
                           or_(Case.ended_at.is_(None), Case.ended_at >= start),
                           *([] if scope is None else [scope.case_condition()]))
        .order_by(Case.started_at, Case.reference)).scalars().all()
    counts: dict[str, dict[str, int]] = {}
    if cases:
        ids = [c.id for c in cases]
        for case_id, state, completed_at, due_at in db.session.execute(
                select(WorkItem.case_id, WorkItem.state, WorkItem.completed_at, WorkItem.due_at)
                .where(WorkItem.case_id.in_(ids), WorkItem.created_at < end,
                       WorkItem.element_is(HANDLING_ELEMENT),
                       WorkItem.state != "cancelled")).all():
            entry = counts.setdefault(case_id, {"handled": 0, "done": 0, "open": 0, "late": 0})
            entry["handled"] += 1
            finished = completed_at if state == "completed" and completed_at is not None \
                and completed_at < end else None
            entry["done" if finished else "open"] += 1
            # Late: finished after its due moment, or still in hand at the month's end with
            # its due moment passed.
            if due_at is not None and ((finished is not None and finished > due_at)
                                       or (finished is None and due_at < end)):
                entry["late"] += 1

    words = industry_words()  # 行业 in words, as the application form names them
    rows = []
    for case in cases:
        summary = json.loads(case.summary or "{}")
        status = case.status if case.ended_at is None or case.ended_at < end else "running"
        entry = counts.get(case.id, {"handled": 0, "done": 0, "open": 0, "late": 0})
        rows.append(ReportRow(
            reference=case.reference, project=str(summary.get("project_name") or case.title),
            enterprise=str(summary.get("enterprise_name") or ""),
            industry=words.get(str(summary.get("industry") or ""),
                               str(summary.get("industry") or "")),
            investment_wan=_amount(summary.get("investment_wan")),
            started=_local_day(case.started_at), status=STATUS_ZH.get(status, status),
            items=max(int(summary.get("item_count") or 0), entry["handled"]),
            done_items=entry["done"], open_items=entry["open"], late_items=entry["late"],
            ended=_local_day(case.ended_at) if case.ended_at and case.ended_at < end else "",
            case_id=case.id))
    return rows


def _amount(value: object) -> str:
    """万元 as people write them: 120000, not 120000.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _local_day(moment: datetime | None) -> str:
    return (moment + timedelta(hours=8)).date().isoformat() if moment else ""


def _cells(n: int, row: ReportRow) -> list[str]:
    return [str(n), row.reference, row.project, row.enterprise, row.industry,
            row.investment_wan, row.started, row.status, str(row.items),
            str(row.done_items), str(row.open_items), str(row.late_items), row.ended]


def render_csv(rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for n, row in enumerate(rows, 1):
        writer.writerow(_cells(n, row))
    return out.getvalue()


def render_html(year: int, month: int, rows: list[ReportRow]) -> str:
    title = f"重点招商项目情况表（{year}年{month}月）"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in _cells(n, r))
                   + "</tr>" for n, r in enumerate(rows, 1))
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{title}</title></head><body><h1>{title}</h1><p>单位：万元</p>"
            f"<table border=\"1\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"</body></html>\n")


def report_dir() -> Path:
    return Path(current_app.config["GUANJIA"].instance_dir) / "reports"


def _write(path: Path, text: str) -> None:
    # Write then rename, so a reader never sees half a table and a rerun is harmless.
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8-sig" if path.suffix == ".csv" else "utf-8")
    os.replace(tmp, path)


def write_monthly_report(year: int, month: int) -> tuple[Path, Path]:
    """Write ``key-projects-YYYY-MM.csv`` and ``.html``; returns both paths."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month}")
    rows = monthly_rows(year, month)
    db.session.rollback()
    folder = report_dir()
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"key-projects-{year}-{month:02d}.csv"
    html_path = csv_path.with_suffix(".html")
    _write(csv_path, render_csv(rows))
    _write(html_path, render_html(year, month, rows))
    return csv_path, html_path


def stored_reports() -> list[Path]:
    """The monthly tables written so far, newest month first."""
    folder = report_dir()
    return sorted(folder.glob("key-projects-*.csv"), reverse=True) if folder.exists() else []
