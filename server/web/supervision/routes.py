"""Staff pages: the office's complaint list and handling, telephone intake, the department's
answer, the county's complaint limit, and the department scorecards (page, 通报 print, PDF,
.xlsx)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import Case, Group
from server.schemas.views import (
    ComplaintDecisionForm,
    ComplaintForm,
    ComplaintSettingForm,
    DepartmentAnswerForm,
    ReferralForm,
    SatisfactionForm,
    ScorecardQuery,
)
from server.services import complaints, records, scorecards
from server.services.directory import display_names, group_names
from server.services.errors import PermissionDeniedError, ValidationFailedError
from server.services.spreadsheet import XLSX_MIMETYPE
from server.services.task_rows import calendar
from server.web import params
from server.web.i18n import EN, field_errors
from server.web.session import me
from server.web.supervision import bp

EN.update({
    "投诉举报": "Complaints", "督查室": "Supervision office", "部门效能": "Department scorecards",
    "登记投诉": "Record a complaint", "办理时限": "Handling limit", "本县设置": "county setting",
    "投诉对象": "About", "投诉内容": "Complaint", "受理渠道": "Channel", "投诉人": "Complainant",
    "联系电话": "Telephone", "被投诉部门": "Department", "被投诉人员": "Person",
    "调查核实情况": "Investigation", "调查结论": "Finding", "答复意见": "Answer",
    "满意度": "Satisfaction", "部门情况说明": "Department's account",
    "需部门说明的问题": "Question to the department", "转部门说明": "Ask the department",
    "答复投诉人": "Answer the complainant", "提交": "Submit", "期限": "Due",
    "按时答复": "Answered in time", "逾期答复": "Answered late", "状态": "Status",
    "打印通报": "Print the bulletin", "下载PDF": "Download PDF", "导出Excel": "Export .xlsx",
})


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    """Navigation flags for base.html: the office's pages and the scorecards."""

    if not current_user.is_authenticated:
        return {}
    codes = current_user.user.group_codes
    return {"nav_supervision": bool(codes & ({complaints.OFFICE} | complaints.INTAKE)
                                    or any(c.startswith("dept_") for c in codes)),
            "nav_scorecards": bool(codes & scorecards.VIEWERS)}


def _departments() -> list[tuple[str, str]]:
    return [(g.code, g.name) for g in db.session.execute(
        select(Group).where(Group.kind == "department").order_by(Group.code)).scalars()]


def _words() -> dict[str, Any]:
    return {"CHANNELS": complaints.CHANNELS, "SUBJECTS": complaints.SUBJECTS,
            "RESULTS": complaints.RESULTS, "SATISFACTION": complaints.SATISFACTION,
            "STATUSES": complaints.STATUSES, "groups": group_names()}


@bp.get("/supervision/complaints")
@login_required
def complaint_list() -> Any:
    """The complaints the user may open (the office: all, with their handling light; a
    department: those it was asked about). 403 for anyone with none to see or record."""
    user = me()
    codes = user.group_codes
    if not (codes & ({complaints.OFFICE} | complaints.INTAKE)
            or any(c.startswith("dept_") for c in codes)):
        raise PermissionDeniedError("complaints are handled by the supervision office")
    now = clock.now()
    rows = [(c, role, complaints.light_of(c, now)) for c, role in
            complaints.visible_complaints(user)]
    setting = complaints.setting_for(None)
    return render_template("supervision/complaints.html", rows=rows, setting=setting,
                           is_office=complaints.OFFICE in codes,
                           may_intake=bool(codes & complaints.INTAKE), **_words())


@bp.route("/supervision/complaints/new", methods=["GET", "POST"])
@login_required
def complaint_new() -> Any:
    """Telephone / letter / visit intake by the window, the bureau or the office; 422 with
    located errors when incomplete, 403 for anyone else."""
    user = me()
    if not user.group_codes & complaints.INTAKE:
        raise PermissionDeniedError("only intake staff record complaints here")
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = params.posted(ComplaintForm)
        try:
            found = complaints.file_complaint(user, values)
        except ValidationFailedError as exc:
            errors, status = field_errors(exc.errors), 422
        else:
            return redirect(url_for("supervision.complaint_show", complaint_id=found.id))
    return render_template("supervision/complaint_new.html", values=values, errors=errors,
                           departments=_departments(),
                           setting=complaints.setting_for(None), **_words()), status


def _show(complaint_id: int, errors: dict[str, list[str]] | None = None,
          status: int = 200) -> Any:
    complaint, role = complaints.get_for(me(), complaint_id)
    case = db.session.get(Case, complaint.case_id) if complaint.case_id else None
    people = display_names(sorted({u for u in (complaint.filed_by, complaint.decided_by,
                                               complaint.answered_by_department) if u}))
    template = ("supervision/complaint_department.html" if role == "department"
                else "supervision/complaint.html")
    return render_template(template, c=complaint, role=role, case=case, people=people,
                           light=complaints.light_of(complaint),
                           on_time=complaints.answered_on_time(complaint),
                           departments=_departments(), errors=errors or {},
                           **_words()), status


@bp.get("/supervision/complaints/<int:complaint_id>")
@login_required
def complaint_show(complaint_id: int) -> Any:
    """One complaint as the viewer may see it (the department: only its part). 403, 404."""
    return _show(complaint_id)


def _step(complaint_id: int, action: Any) -> Any:
    try:
        action()
    except ValidationFailedError as exc:
        return _show(complaint_id, field_errors(exc.errors), 422)
    return redirect(url_for("supervision.complaint_show", complaint_id=complaint_id))


@bp.post("/supervision/complaints/<int:complaint_id>/refer")
@login_required
def complaint_refer(complaint_id: int) -> Any:
    """The office asks the department for its account. 403 for anyone but the office."""
    form = params.posted(ReferralForm)
    return _step(complaint_id, lambda: complaints.refer_to_department(
        me(), complaint_id, form["department"], form["question"]))


@bp.post("/supervision/complaints/<int:complaint_id>/department-answer")
@login_required
def complaint_department_answer(complaint_id: int) -> Any:
    """The department's account. 403 for anyone but the department asked."""
    answer = params.posted(DepartmentAnswerForm)["department_answer"]
    return _step(complaint_id, lambda: complaints.answer_as_department(
        me(), complaint_id, answer))


@bp.post("/supervision/complaints/<int:complaint_id>/decide")
@login_required
def complaint_decide(complaint_id: int) -> Any:
    """The office's findings, result and answer. 403 for anyone but the office."""
    decision = params.posted(ComplaintDecisionForm)
    return _step(complaint_id, lambda: complaints.decide(me(), complaint_id, decision))


@bp.post("/supervision/complaints/<int:complaint_id>/rate")
@login_required
def complaint_rate(complaint_id: int) -> Any:
    """The office writes down a telephone complainant's satisfaction. 403 otherwise."""
    rating = params.posted(SatisfactionForm)
    return _step(complaint_id, lambda: complaints.rate(
        me(), complaint_id, rating["satisfaction"], rating["satisfaction_note"]))


@bp.post("/supervision/settings")
@login_required
def complaint_setting() -> Any:
    """The county's complaint handling limit (本县设置). 403 for anyone but the office."""
    user = me()
    try:
        sent = params.posted(ComplaintSettingForm)
        complaints.change_setting(user, sent["handling_days"], sent["phones"])
    except ValidationFailedError as exc:
        now = clock.now()
        rows = [(c, role, complaints.light_of(c, now)) for c, role in
                complaints.visible_complaints(user)]
        return render_template(
            "supervision/complaints.html", rows=rows, setting=complaints.setting_for(None),
            is_office=True, may_intake=True, errors=field_errors(exc.errors),
            **_words()), 422
    return redirect(url_for("supervision.complaint_list"))


# ---- scorecards ------------------------------------------------------------------------------
def _card() -> scorecards.Scorecard:
    user = me()
    scorecards.require_viewer(user)

    wanted = params.query(ScorecardQuery)
    period = scorecards.period_of(wanted["period"], wanted["at"],
                                  today=calendar().local_date(clock.now()))
    return scorecards.scorecard(user, period)


def _card_page(template: str, card: scorecards.Scorecard, **extra: Any) -> str:
    names = group_names()
    return render_template(template, card=card, rows=scorecards.table_rows(card, names),
                           headers=scorecards.HEADERS, notes=scorecards.NOTES,
                           kinds=scorecards.KINDS, **extra)


@bp.get("/supervision/scorecards")
@login_required
def scorecard_page() -> Any:
    """Each department's figures for a month, quarter or year. 403 for enterprises and
    departments; 422 for a period that cannot be read."""
    try:
        card = _card()
    except ValidationFailedError as exc:
        scorecards.require_viewer(me())
        return render_template("supervision/scorecards.html", card=None, rows=[],
                               headers=scorecards.HEADERS, notes=scorecards.NOTES,
                               kinds=scorecards.KINDS, errors=field_errors(exc.errors),
                               at=params.query(ScorecardQuery)["at"]), 422
    return _card_page("supervision/scorecards.html", card, errors={},
                      pdf=records.pdf_available())


@bp.get("/supervision/scorecards/print")
@login_required
def scorecard_print() -> Any:
    """The printable 通报 (HTML with print CSS; ``?format=pdf``: the PDF). 403 as above."""
    card = _card()
    as_pdf = params.query(ScorecardQuery)["format"] == "pdf"
    html = _card_page("supervision/scorecards_print.html", card, as_pdf=as_pdf,
                      pdf=records.pdf_available(), inline_css=_print_css() if as_pdf else "")
    if not as_pdf:
        return html
    name = f"部门效能通报-{card.period.value}.pdf"
    return records.render_pdf(html), 200, {
        "Content-Type": "application/pdf",
        "Content-Disposition": f"attachment; filename=\"scorecard-{card.period.value}.pdf\"; "
                               f"filename*=UTF-8''{quote(name)}"}


@bp.get("/supervision/scorecards.xlsx")
@login_required
def scorecard_xlsx() -> Any:
    """The scorecard as an .xlsx. 403 as above."""
    card = _card()
    name = f"部门效能-{card.period.value}.xlsx"
    return scorecards.xlsx(card, group_names()), 200, {
        "Content-Type": XLSX_MIMETYPE,
        "Content-Disposition": f"attachment; filename=\"scorecard-{card.period.value}.xlsx\"; "
                               f"filename*=UTF-8''{quote(name)}"}


def _print_css() -> str:

    static = current_app.static_folder
    assert static is not None
    return (Path(static) / "css" / "print.css").read_text(encoding="utf-8")
