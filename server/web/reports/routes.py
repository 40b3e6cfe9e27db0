"""The reports page: list, read, write the feedback, sign off, hand in, correct, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from server.engine import clock
from server.extensions import db
from server.models import County, Report
from server.schemas.pages import OutputFormat
from server.schemas.views import PrepareReportForm, ReasonForm, ReportNoteForm, SubmittedOnForm
from server.services import records, report_books, report_exports
from server.services.calendar import default_county
from server.services.counties import list_counties
from server.services.directory import display_names, group_names
from server.services.errors import ValidationFailedError
from server.services.report_figures import (
    KIND_SOURCES,
    KIND_TITLES,
    KINDS,
    PREFECTURE,
    period_of,
)
from server.services.spreadsheet import XLSX_MIMETYPE
from server.services.task_rows import calendar
from server.web import params
from server.web.i18n import EN, field_errors, t
from server.web.reports import bp
from server.web.session import me

EN.update({
    "报表": "Reports", "报表种类": "Report", "期间": "Period", "报送期限": "Due",
    "状态": "State", "版本": "Version", "待审定": "Awaiting sign-off", "已审定": "Signed off",
    "已报送": "Handed in", "未到期": "Not yet due", "即将到期": "Due soon", "已超期": "Overdue",
    "按时报送": "Handed in on time", "逾期报送": "Handed in late", "生成报表": "Prepare",
    "重新统计": "Recount", "审定同意": "Sign off", "标记已报送": "Mark handed in",
    "报送日期": "Handed in on", "更正（生成新版本）": "Correct (new version)",
    "更正原因": "Reason for the correction", "进展情况": "Progress", "存在问题": "Problems",
    "下步计划": "Next steps", "保存": "Save", "下载Excel": "Download .xlsx",
    "打印": "Print", "下载PDF": "Download PDF", "历史版本": "Versions", "填报人": "Written by",
    "暂无报表": "No reports yet", "每月1日自动生成，主要负责人审定后报送。":
        "Prepared automatically on the 1st; handed in after the head of the bureau signs off.",
    "已生成": "Prepared", "已保存": "Saved", "已审定同意": "Signed off",
    "已标记报送": "Marked handed in", "已生成新版本": "New version prepared",
    "已重新统计": "Recounted", "请检查标红的内容": "Please check the fields marked in red",
    "本县设置": "county setting", "全州": "Whole prefecture", "返回": "Back",
    "第{n}版": "version {n}",
    "报送要求": "What is due, and where the documents say so", "本期无数据": "Nothing this period",
    "尚未填写": "Not written yet", "跟踪反馈（项目管家填写）": "Tracking feedback (by the steward)",
    "已被新版本更正": "Corrected by a newer version", "主要负责人审定": "Signed off by",
    "黄灯按本县设置的预警天数": "yellow by the county's warning days",
    "种子文件001 四（四）：《重点招商信息跟踪反馈单》；审定前由各项目的牵头管家填写。":
        "Seed 001 IV(4): the tracking feedback sheet, written by each case's lead steward "
        "before sign-off.",
})


def _unit(report: Report) -> str:
    """The reporting unit (填报单位): the county's 投资促进局, or the prefecture's for the
    prefecture's own report."""

    code = report.county if report.county and report.county != PREFECTURE else default_county()
    county = db.session.get(County, code) if code else None
    if report.county == PREFECTURE:
        return f"{county.prefecture if county and county.prefecture else ''}投资促进局"
    return f"{county.name if county else ''}投资促进局"


def _names(report: Report) -> dict[str, str]:
    users = {n.get("by", "") for n in report.case_notes.values()}
    users |= {report.signed_by or "", report.submitted_by or "", report.prepared_by}
    return display_names(sorted(u for u in users if u))


def _departments() -> dict[str, str]:
    return {code: names[0] for code, names in group_names().items()}


@bp.get("")
@login_required
def index() -> Any:
    """Every report's newest version with its due date and light; 403 for the enterprise and
    the departments' agents."""
    user = me()
    found = report_books.listing(user)
    return render_template("reports/index.html", reports=found, kinds=KINDS,
                           titles=KIND_TITLES, sources=KIND_SOURCES, period_of=period_of,
                           lights={r.id: report_books.due_light(r) for r in found},
                           words=report_books.STATE_WORDS,
                           counties={PREFECTURE: t("全州"),
                                     **{c.code: c.name for c in list_counties()}},
                           clerk=bool(user.group_codes & report_books.CLERKS))


@bp.post("/prepare")
@login_required
def prepare() -> Any:
    """Prepare a report by hand (bureau); 422 with the list when the period is not one."""
    try:
        sent = params.posted(PrepareReportForm)
        report = report_books.prepare_by(me(), sent["kind"], sent["period"])
    except ValidationFailedError as exc:
        flash(t("请检查标红的内容") + "：" + "；".join(
            m for ms in field_errors(exc.errors).values() for m in ms), "error")
        return index(), 422
    flash(t("已生成"), "success")
    return redirect(url_for("reports.show", report_id=report.id))


def _show(report: Report, **extra: Any) -> str:
    user = me()
    names = _names(report)
    stewards = {r["case_id"]: report_books.may_write_note(user, report, r["case_id"])
                for r in report.figures.get("rows", [])}
    return render_template(
        "reports/show.html", report=report, period=period_of(report.kind, report.period),
        source=KIND_SOURCES[report.kind], light=report_books.due_light(report),
        words=report_books.STATE_WORDS, versions=report_books.versions(report),
        tables=report_exports.tables(report, groups=_departments(), people=names),
        lines=report_exports.sign_lines(report, unit=_unit(report), people=names),
        writable=stewards, notes=report.case_notes, names=names,
        signer=report_books.SIGNER in user.group_codes,
        clerk=bool(user.group_codes & report_books.CLERKS),
        today=calendar().local_date(clock.now()).isoformat(), **extra)


@bp.get("/<int:report_id>")
@login_required
def show(report_id: int) -> Any:
    """One report version: its documents, the stewards' feedback forms, the sign-off and
    hand-in actions the user may take; 403/404."""
    return _show(report_books.get(me(), report_id))


@bp.post("/<int:report_id>/notes/<case_id>")
@login_required
def write_note(report_id: int, case_id: str) -> Any:
    """The lead steward's 进展 / 问题 / 计划 for one case; 403 for anyone else, 409 once
    signed, 422 with the form's errors."""
    try:
        report_books.write_note(me(), report_id, case_id, params.posted(ReportNoteForm))
    except ValidationFailedError as exc:
        flash(t("请检查标红的内容"), "error")
        return _show(report_books.get(me(), report_id), note_errors={
            case_id: field_errors(exc.errors)}, note_values={case_id: params.as_typed()}), 422
    flash(t("已保存"), "success")
    return redirect(url_for("reports.show", report_id=report_id, _anchor=f"note-{case_id}"))


@bp.post("/<int:report_id>/refresh")
@login_required
def refresh(report_id: int) -> Any:
    """Recount a draft (bureau); 403/409."""
    report_books.refresh(me(), report_id)
    flash(t("已重新统计"), "success")
    return redirect(url_for("reports.show", report_id=report_id))


@bp.post("/<int:report_id>/sign")
@login_required
def sign(report_id: int) -> Any:
    """The 主要负责人 signs off; 403 for anyone else, 409 when not a draft."""
    report_books.sign(me(), report_id)
    flash(t("已审定同意"), "success")
    return redirect(url_for("reports.show", report_id=report_id))


@bp.post("/<int:report_id>/submit")
@login_required
def submit(report_id: int) -> Any:
    """Mark handed in on a date; 403/409, 422 for a bad date."""
    try:
        report_books.submit(me(), report_id,
                            params.posted(SubmittedOnForm)["submitted_on"])
    except ValidationFailedError as exc:
        flash(t("请检查标红的内容"), "error")
        return _show(report_books.get(me(), report_id),
                     submit_errors=field_errors(exc.errors)), 422
    flash(t("已标记报送"), "success")
    return redirect(url_for("reports.show", report_id=report_id))


@bp.post("/<int:report_id>/correct")
@login_required
def correct(report_id: int) -> Any:
    """A correction after sign-off: a new version; 403/409, 422 without a reason."""
    try:
        newer = report_books.correct(me(), report_id, params.posted(ReasonForm)["reason"])
    except ValidationFailedError as exc:
        flash(t("请检查标红的内容"), "error")
        return _show(report_books.get(me(), report_id),
                     correct_errors=field_errors(exc.errors)), 422
    flash(t("已生成新版本"), "success")
    return redirect(url_for("reports.show", report_id=newer.id))


def _filename(report: Report, ext: str) -> str:
    period = period_of(report.kind, report.period)
    return f"{period.title}-第{report.version}版.{ext}"


def _download(body: bytes, mimetype: str, report: Report, ext: str) -> Any:
    ascii_name = f"report-{report.kind}-{report.period}-v{report.version}.{ext}"
    return body, 200, {
        "Content-Type": mimetype,
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                               f"filename*=UTF-8''{quote(_filename(report, ext))}"}


@bp.get("/<int:report_id>/xlsx")
@login_required
def xlsx(report_id: int) -> Any:
    """The report as .xlsx (one sheet per document); 403/404."""
    report = report_books.get(me(), report_id)
    body = report_exports.xlsx(report, unit=_unit(report), groups=_departments(),
                               people=_names(report))
    return _download(body, XLSX_MIMETYPE, report, "xlsx")


@bp.get("/<int:report_id>/print")
@login_required
def printable(report_id: int) -> Any:
    """The report laid out for paper; ``?format=pdf`` the same as a PDF; 403/404, 503 when
    WeasyPrint cannot run."""
    report = report_books.get(me(), report_id)
    as_pdf = params.query(OutputFormat)["format"] == "pdf"
    names = _names(report)
    html = render_template(
        "reports/print.html", report=report, period=period_of(report.kind, report.period),
        source=KIND_SOURCES[report.kind], unit=_unit(report),
        tables=report_exports.tables(report, groups=_departments(), people=names),
        lines=report_exports.sign_lines(report, unit=_unit(report), people=names),
        pdf=records.pdf_available(), as_pdf=as_pdf,
        inline_css=_print_css() if as_pdf else "")
    if not as_pdf:
        return html
    return _download(records.render_pdf(html), "application/pdf", report, "pdf")


def _print_css() -> str:
    static = current_app.static_folder
    assert static is not None
    return (Path(static) / "css" / "print.css").read_text(encoding="utf-8")
