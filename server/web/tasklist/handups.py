"""州-level items handed up to the prefecture's departments (issue 21): the county department
hands an item up from its task page; the prefecture department's list and hand-up page, where it
accepts (受理) and decides. Thin views over :mod:`server.services.handups`."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from server.schemas.views import HandupDecisionForm, HandUpForm
from server.services import attachments, handups
from server.services.errors import ConflictError, ValidationFailedError
from server.web import params
from server.web.i18n import EN, t
from server.web.session import me
from server.web.tasklist import bp

EN.update({
    "州级交办": "Handed up to the prefecture",
    "交州级部门审批": "Hand up to the prefecture department",
    "初审意见": "The county's opinion",
    "已交州级部门审批": "Handed up to the prefecture department",
    "州级部门": "Prefecture department", "受理": "Accept", "已受理": "Accepted",
    "准予许可": "Approve", "不予许可": "Refuse", "批文号": "Approval number",
    "不予许可理由": "Reason for refusal", "办理决定": "Decision", "待受理": "Awaiting acceptance",
    "已受理，审查中": "Accepted, under review", "州级办理进度": "Progress at the prefecture",
    "州级时限": "The prefecture's limit", "交办案件": "Case", "县级部门": "County department",
    "交办时间": "Handed up", "办理记录": "History", "案件材料": "The case's materials",
    "暂无州级交办事项": "Nothing handed up", "州级已办结": "Decided at the prefecture",
    "州级审批中": "With the prefecture", "已办结": "Decided", "县": "County",
    "交州级审批": "Handed up", "州级受理": "Accepted at the prefecture",
    "州级决定": "Decided at the prefecture", "州级办结回传": "Returned from the prefecture",
    "已决定，县级计时恢复": "Decided; the county's clock runs again",
    "初审意见和全部申请材料直接报送上级行政机关":
        "the opinion and all the application's materials go straight to the higher authority",
    "州级部门受理": "Accepted at the prefecture",
    "县级案件已结束，无需决定": "The county case has ended; nothing to decide",
    "州级部门决定": "Decided at the prefecture",
})


def progress_view(handup: Any) -> dict[str, Any]:
    """What both sides' pages show of a hand-up's progress."""
    seen = handups.progress(handup)
    return {"state": seen.state, "state_zh": seen.state_zh, "deadline": seen.deadline,
            "verdict": seen.verdict, "limit_days": seen.limit_days,
            "limit_kind": seen.limit_kind}


@bp.app_context_processor
def _handup_helpers() -> dict[str, Any]:
    return {"handup_of_task": handups.handup_of_task, "handup_progress": progress_view}


@bp.post("/tasks/<task_id>/handup")
@login_required
def task_handup(task_id: str) -> Any:
    """The county department hands its 州-level item up; a refusal is flashed and changes
    nothing. Raises 404 (unknown task, another county's) and 403 (not the department's)."""
    form = params.posted(HandUpForm)
    try:
        handups.hand_up(me(), task_id, note=form["note"])
        flash(t("已交州级部门审批"), "success")
    except (ValidationFailedError, ConflictError) as exc:
        flash(str(exc.detail), "error")
    return redirect(url_for("tasklist.task", task_id=task_id))


@bp.get("/handups")
@login_required
def handup_list() -> Any:
    """The prefecture department's handed-up items (a county's staff: its own county's)."""
    return render_template("tasklist/handups.html", rows=handups.prefecture_list(me()),
                           progress=progress_view)


@bp.get("/handups/<int:handup_id>")
@login_required
def handup_page(handup_id: int) -> Any:
    """One handed-up item: the case, the county's opinion, the materials, the prefecture's
    progress and history, and the department's actions. Raises 404 (another county's) and
    403."""
    user = me()
    handup = handups.get_handup(user, handup_id)
    return render_template(
        "tasklist/handup.html", handup=handup, view=progress_view(handup),
        history=handups.history(handup), files=attachments.case_attachments(handup.case),
        can_act=user.county is None and handup.prefecture_group in user.group_codes)


@bp.post("/handups/<int:handup_id>/accept")
@login_required
def handup_accept(handup_id: int) -> Any:
    """受理 by the prefecture department; raises 404 and 403 as the page."""
    try:
        handups.accept(me(), handup_id)
        flash(t("已受理"), "success")
    except ConflictError as exc:
        flash(str(exc.detail), "error")
    return redirect(url_for("tasklist.handup_page", handup_id=handup_id))


@bp.post("/handups/<int:handup_id>/decide")
@login_required
def handup_decide(handup_id: int) -> Any:
    """The prefecture department's decision; the county's clock runs again. Raises 404 and
    403 as the page."""
    form = params.posted(HandupDecisionForm)
    try:
        handups.decide(me(), handup_id, decision=form["decision"],
                       approval_number=form["approval_number"], reason=form["reason"])
        flash(t("已决定，县级计时恢复"), "success")
    except (ValidationFailedError, ConflictError) as exc:
        flash(str(exc.detail), "error")
    return redirect(url_for("tasklist.handup_page", handup_id=handup_id))


@bp.post("/handups/<int:handup_id>/attachments")
@login_required
def handup_upload(handup_id: int) -> Any:
    """The prefecture department attaches a document (批复、决定书); a refused file is flashed
    with its reason. Raises 404 and 403 as the page."""
    sent = request.files.get("file")
    try:
        if sent is None or not sent.filename:
            handups.require_department(me(), handup_id)
            raise ValidationFailedError("choose a file", {"file": [t("请选择") + " " + t("文件")]})
        attachments.add_handup_attachment(me(), handup_id, attachments.Upload(
            sent.filename, sent.mimetype or "", sent.stream))
        flash(t("附件已上传"), "success")
    except (ValidationFailedError, ConflictError) as exc:
        flash(str(exc.detail), "error")
    return redirect(url_for("tasklist.handup_page", handup_id=handup_id) + "#attachments")
