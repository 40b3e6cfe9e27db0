"""A report as the clerk hands it in: the tables (one per document), the unit, the period,
the sign-off line. ``tables`` feeds both the .xlsx (``spreadsheet.workbook``) and the
printable page / PDF (``records.render_pdf``), so both carry the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.models import Report
from server.services import reports, spreadsheet
from server.services.report_figures import (
    COUNTY_FIELDS,
    COUNTY_HEADERS,
    DEPARTMENT_FIELDS,
    DEPARTMENT_HEADERS,
    FEEDBACK_HEADERS,
    SERVICE_HEADERS,
    SUMMARY_FIELDS,
    SUMMARY_HEADERS,
    period_of,
)


@dataclass(frozen=True)
class Table:
    name: str  # the sheet's tab
    title: str  # the document's title, as the seed's 附件 names it
    headers: tuple[str, ...]
    rows: list[list[Any]]


def _number(text: str) -> Any:
    """Counts as numbers in the spreadsheet (a reader sums them), other cells as text."""
    return int(text) if text.isdigit() else text


def tables(report: Report, *, groups: dict[str, str], people: dict[str, str]) -> list[Table]:
    """The report's documents. ``groups``: department code → name; ``people``: username →
    name (the 跟踪反馈单's 填报人)."""
    figures = report.figures
    label = period_of(report.kind, report.period).label
    if report.kind == "monthly":
        rows = figures.get("rows", [])
        numeric = {reports.COLUMNS.index(c) for c in ("序号", "审批事项", "已办结事项",
                                                        "在办事项", "超期事项")}
        situation = [[_number(v) if i in numeric else v for i, v in enumerate(r["cells"])]
                     for r in rows]
        totals = figures.get("totals", {})
        if rows:
            situation.append(["合计", "", "", "", "", "", "", "", totals.get("items", 0),
                              totals.get("done_items", 0), totals.get("open_items", 0),
                              totals.get("late_items", 0), ""])
        notes = report.case_notes
        feedback = []
        for n, r in enumerate(rows, 1):
            note = notes.get(r["case_id"], {})
            feedback.append([n, r["cells"][1], r["cells"][2], r["cells"][3],
                             note.get("progress", ""), note.get("problems", ""),
                             note.get("plan", ""),
                             people.get(note.get("by", ""), note.get("by", ""))])
        cells = {r["case_id"]: r["cells"] for r in rows}
        services = [[n, cells[s["case_id"]][1], cells[s["case_id"]][2],
                     cells[s["case_id"]][3], cells[s["case_id"]][5], s["item"],
                     groups.get(s["department"], s["department"]), s["started"], s["due"],
                     s["done"], s["state"]]
                    for n, s in enumerate(figures.get("services", []), 1)
                    if s["case_id"] in cells]
        documents = [
            Table("情况表", f"重点招商项目情况表（{label}）", tuple(reports.COLUMNS), situation),
            Table("跟踪反馈单", f"重点招商信息跟踪反馈单（{label}）", FEEDBACK_HEADERS,
                  feedback),
            Table("服务清单", f"重点招商项目服务清单（{label}）", SERVICE_HEADERS, services)]
        if "counties" in figures:  # the prefecture's report: the counties compared
            documents.insert(0, Table(
                "各县对比", f"各县（市）对比（{label}）", COUNTY_HEADERS,
                [[c["name"], *[c[k] for k in COUNTY_FIELDS]] for c in figures["counties"]]))
        return documents
    months = [[m["month"], *[m[k] for k in SUMMARY_FIELDS]] for m in figures.get("months", [])]
    total = figures.get("total")
    if total:
        months.append([total["month"], *[total[k] for k in SUMMARY_FIELDS]])
    by_month = Table("分月情况", f"{figures.get('title', '')}·分月情况", SUMMARY_HEADERS, months)
    if report.kind != "half_year":
        return [by_month]
    departments = [[groups.get(d["department"], d["department"]),
                    *[d[k] for k in DEPARTMENT_FIELDS]] for d in figures.get("departments", [])]
    return [Table("各部门", f"{figures.get('title', '')}·各部门", DEPARTMENT_HEADERS,
                  departments), by_month]


def sign_lines(report: Report, *, unit: str, people: dict[str, str]) -> list[str]:
    """The lines under each table: unit, who prepared, who signed off, when handed in."""
    signer = people.get(report.signed_by or "", report.signed_by or "")
    blank = "____年__月__日"
    return [f"填报单位（盖章）：{unit}",
            f"主要负责人审定：{signer or '__________'}　审定日期："
            f"{reports._local_day(report.signed_at) or blank}",
            f"报送日期：{report.submitted_on.isoformat() if report.submitted_on else blank}"
            f"　第{report.version}版　统计截至：{report.figures.get('as_of', '')}"]


def xlsx(report: Report, *, unit: str, groups: dict[str, str],
         people: dict[str, str]) -> bytes:
    """The report's .xlsx: one sheet per document, each with its title and sign-off lines."""
    lines = sign_lines(report, unit=unit, people=people)
    return spreadsheet.workbook([
        spreadsheet.Sheet(name=t.name, headers=t.headers, rows=t.rows,
                          title=t.title, notes=("单位：万元", *lines))
        for t in tables(report, groups=groups, people=people)])
