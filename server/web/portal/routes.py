"""The enterprise's own pages: apply, follow progress, act on its tasks."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from server.schemas.views import TerminationProposalForm
from server.services import (
    access,
    case_pages,
    case_search,
    cases,
    directory,
    processes,
    proxy,
    task_rows,
    termination,
)
from server.services.catalog import filing_catalog
from server.services.errors import NotFoundError, ValidationFailedError
from server.services.forms import FormDefinition, form_registry
from server.services.store import case_store
from server.web import formview, params
from server.web.cases.routes import case_view
from server.web.i18n import field_errors, t
from server.web.portal import bp
from server.web.session import me


def _start_form() -> tuple[str, FormDefinition | None]:
    """The main process of the newest deployment the enterprise's county runs and its start
    form; raises NotFoundError."""
    deployment = processes.latest_for(me())
    if deployment is None:
        raise NotFoundError("no process is deployed yet")
    spec_set = case_store().spec_set(deployment)
    if not spec_set.start_forms:
        raise NotFoundError("the deployed processes have no start form")
    process_id = sorted(spec_set.start_forms)[0]
    return process_id, form_registry().get(spec_set.start_forms[process_id],
                                           deployment_id=deployment.id)


@bp.get("")
@login_required
def index() -> Any:
    """The enterprise's cases with their light, and its open tasks."""
    user = me()
    found, total = case_search.visible_cases(user, per_page=100)
    rows = []
    for case in found:
        items = cases.case_work_items(case)
        rows.append((case, case_pages.case_summary(case), task_rows.case_light(items),
                     [i for i in items if i.state == "ready"]))
    mine = task_rows.task_rows(user, task_rows.ListQuery(scope="all", per_page=50))
    return render_template("portal/index.html", rows=rows, total=total, mine=mine,
                           groups=directory.group_names())


@bp.route("/apply", methods=["GET", "POST"])
@login_required
def apply() -> Any:
    """Apply online with the newest deployment's start form; 422 with errors when invalid."""
    user = me()
    process_id, form = _start_form()
    values: dict[str, Any] = {}
    if user.enterprise is not None:
        values["enterprise_name"] = user.enterprise.name
    if request.method == "POST":
        application = params.task_form_posted()
        data = (formview.submission(form, application, filing_catalog(user)) if form is not None
                else {})
        try:
            case = cases.start_case(user, process_id, data)
        except ValidationFailedError as exc:
            posted = {k: application.getlist(k) for k in application}
            return render_template("portal/apply.html", form=form,
                                   values=formview.values_from_posted(posted),
                                   errors=field_errors(exc.errors),
                                   catalog=formview.catalog_choices(filing_catalog(user))), 422
        flash(t("申请已提交") + f"：{case.reference}", "success")
        return redirect(url_for("portal.case", case_id=case.id))
    return render_template("portal/apply.html", form=form, values=values, errors={},
                           catalog=formview.catalog_choices(filing_catalog(user)))


@bp.get("/cases/<case_id>")
@login_required
def case(case_id: str) -> Any:
    """One case node by node (节点查询); 403 for another enterprise's case."""
    return _case_page(case_id)


def _case_page(case_id: str, status: int = 200, **extra: Any) -> Any:
    view = case_view(case_id)
    user = me()
    open_tasks = [r for r in view["working"] if access.acting_role(user, r.item)]
    return render_template("portal/case.html", open_tasks=open_tasks,
                           proxy_code=proxy.code_status(view["case"]),
                           code_minutes=proxy.CODE_MINUTES, **view, **extra), status


@bp.post("/cases/<case_id>/proxy-code")
@login_required
def issue_proxy_code(case_id: str) -> Any:
    """Generate the one-time code that lets the window do a step for the enterprise; shown
    once on the page (never stored in clear); 403 for another enterprise's case."""
    code, row = proxy.issue_code(me(), case_id)
    return _case_page(case_id, new_code=code, new_code_expires=row.expires_at)


@bp.post("/cases/<case_id>/termination")
@login_required
def request_termination(case_id: str) -> Any:
    """The enterprise asks to stop the service (004 §五(八)); the responsible leader decides.
    403 for another enterprise, 409 when it cannot be asked now, 422 with the errors."""
    try:
        sent = params.posted(TerminationProposalForm)
        termination.propose_termination(me(), case_id, sent["reason_code"], sent["detail"])
    except ValidationFailedError as exc:
        flash(t("终止申请未提交，请选择原因并说明"), "error")
        return _case_page(case_id, 422, termination_errors=field_errors(exc.errors),
                          termination_values=params.as_typed())
    flash(t("已提交终止申请，待包保领导决定"), "success")
    return redirect(url_for("portal.case", case_id=case_id))
