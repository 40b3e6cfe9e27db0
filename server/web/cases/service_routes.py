"""Case-page actions of issue 13: 代企业办理 (with the enterprise's confirmation), termination
proposed and decided by the responsible leader, periodic return visits recorded."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from server.schemas.views import (
    ProxyConfirmationForm,
    ReturnVisitForm,
    TerminationDecisionForm,
    TerminationProposalForm,
)
from server.services import attachments, proxy, return_visits, tasks, termination
from server.services.catalog import catalog_for_case
from server.services.errors import ValidationFailedError
from server.web import formview, params
from server.web.cases import bp
from server.web.cases.routes import case_view, on_case_page
from server.web.i18n import field_errors, t
from server.web.session import me


def _proxy_page(case_id: str, task_id: str, *, values: dict[str, Any] | None = None,
                errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    view = case_view(case_id)
    item = next((s for s in view["proxy"]["steps"] if s.id == task_id), None)
    if item is None:
        abort(404)
    return render_template("cases/proxy.html", item=item, form=tasks.form_for(item),
                           values=values or {}, errors=errors or {},
                           catalog=formview.catalog_choices(catalog_for_case(item.case)),
                           code_minutes=proxy.CODE_MINUTES,
                           max_attempts=proxy.MAX_ATTEMPTS,
                           max_mb=attachments.max_bytes() // (1024 * 1024),
                           allowed=", ".join(sorted(attachments.ALLOWED_TYPES)),
                           **view), status


@bp.get("/<case_id>/proxy/<task_id>")
@login_required
def proxy_step(case_id: str, task_id: str) -> Any:
    """The enterprise's step, to be done on its behalf (window, bureau); 404 when it is not an
    open enterprise step the user may do for it."""
    return _proxy_page(case_id, task_id)


@bp.post("/<case_id>/proxy/<task_id>")
@login_required
def proxy_submit(case_id: str, task_id: str) -> Any:
    """Complete the enterprise's step for it with its confirmation; 403/404/409 as the service
    refuses, 422 with the form and the errors (nothing changed) when the form or the
    confirmation does not hold."""
    item = tasks.get_work_item(me(), task_id)
    form = tasks.form_for(item)
    posted = params.task_form_posted()
    data = (formview.submission(form, posted, catalog_for_case(item.case)) if form is not None
            else {})
    sent = request.files.get("confirmation_file")
    upload = (attachments.Upload(sent.filename or "", sent.mimetype or "", sent.stream)
              if sent is not None and sent.filename else None)
    sent_confirmation = params.posted(ProxyConfirmationForm)
    confirmation = proxy.Confirmation(kind=sent_confirmation["confirmation_kind"],
                                      code=sent_confirmation["confirmation_code"],
                                      upload=upload)
    try:
        proxy.complete_on_behalf(me(), task_id, data, confirmation)
    except ValidationFailedError as exc:
        flash(t("未能代企业办理，请检查标红的内容"), "error")
        values = formview.values_from_posted({k: posted.getlist(k) for k in posted})
        return _proxy_page(case_id, task_id, values=values, errors=field_errors(exc.errors),
                           status=422)
    flash(t("已代企业办理") + f"：{item.name}", "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/<case_id>/termination")
@login_required
def propose_termination(case_id: str) -> Any:
    """Propose terminating the case (steward, window); 403/404/409 as the service refuses, 422
    with the case page and the errors when the reason or its text is missing."""
    def step() -> None:
        sent = params.posted(TerminationProposalForm)
        termination.propose_termination(me(), case_id, sent["reason_code"], sent["detail"])

    return on_case_page(case_id, step, done=t("已提议终止，待包保领导决定"),
                        refused=t("终止提议未提交，请选择原因并说明"), section="termination")


@bp.post("/<case_id>/termination/decision")
@login_required
def decide_termination(case_id: str) -> Any:
    """The responsible leader approves or declines the waiting termination; 403 for anyone
    else, 404 when none waits, 422 with the case page when a refusal gives no reason."""
    sent = params.posted(TerminationDecisionForm)
    approve = sent["decision"] == "approve"
    return on_case_page(
        case_id,
        lambda: termination.decide_termination(me(), case_id, approve=approve, note=sent["note"]),
        done=t("已同意终止服务") if approve else t("已记录不同意终止"),
        refused=t("决定未记录，请填写理由"), section="termination", keep_typed=False)


@bp.post("/<case_id>/return-visits/<visit_id>")
@login_required
def record_return_visit(case_id: str, visit_id: str) -> Any:
    """The lead steward records a periodic return visit; 403 for others, 409 when it is not
    open, 422 with the case page and each wrong field (nothing saved)."""
    return on_case_page(
        case_id, lambda: return_visits.record_visit(me(), visit_id, params.posted(ReturnVisitForm)),
        done=t("已保存回访记录"), refused=t("回访记录未保存，请检查标红的内容"), section="visit",
        row=visit_id)
