"""Thin pages over ``services.reserve``, ``services.filing`` and ``services.aftercare``.

Each view parses the posted fields, calls one service and renders; a refusal re-renders the
page with the fields' messages (422), and the error handler turns 403/404/409 into pages.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from server.extensions import db
from server.models import Case
from server.models.reserve import STAGES
from server.schemas.views import (
    AftercareSettingsForm,
    CountyChoice,
    EnterpriseChoiceForm,
    EvaluationForm,
    HalfYearQuery,
    OpinionForm,
    ProgressForm,
    PromiseForm,
    ReserveForm,
    ReserveListQuery,
    StageMoveForm,
)
from server.services import aftercare, filing, reserve
from server.services.catalog import filing_catalog
from server.services.counties import list_counties
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from server.services.forms import form_registry
from server.web import formview, params
from server.web.i18n import field_errors
from server.web.reserve import bp
from server.web.session import me
from server.web.words import person_name

RESERVE_FIELDS = reserve.FIELDS


def _query() -> reserve.ReserveQuery:
    return reserve.ReserveQuery(**params.query(ReserveListQuery))


def _choices() -> dict[str, Any]:
    users, groups = reserve.staff_choices()
    return {"industries": reserve.choices("industry"), "areas": reserve.choices("area"),
            "users": users, "groups": groups, "stage_names": reserve.STAGE_NAMES,
            "stages": STAGES, "ratings": reserve.RATINGS}


@bp.get("")
@login_required
def index() -> Any:
    """The reserve as a list with filters; 403 for enterprises and department staff."""
    query = _query()
    rows = reserve.list_projects(me(), query)
    return render_template("reserve/index.html", rows=rows, query=query, **_choices())


@bp.get("/board")
@login_required
def board() -> Any:
    """The reserve as a board, one column per stage (洽谈 / 签约 / 落地)."""
    query = _query()
    columns = reserve.board(me(), query)
    return render_template("reserve/board.html", columns=columns, query=query, **_choices())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    """Record a project in the reserve; 422 naming the fields that are wrong."""
    user = me()
    reserve.require_manager(user)
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = params.posted(ReserveForm)
        try:
            project = reserve.record_project(user, values)
        except ValidationFailedError as exc:
            return render_template("reserve/edit.html", values=values,
                                   errors=field_errors(exc.errors), **_choices()), 422
        flash(f"已录入项目储备库：{project.name}", "success")
        return redirect(url_for("reserve.show", reserve_id=project.id))
    return render_template("reserve/edit.html", values=values, errors={}, **_choices())


@bp.route("/<int:reserve_id>/edit", methods=["GET", "POST"])
@login_required
def edit(reserve_id: int) -> Any:
    """Correct a project's facts, leader, department, liaison or next step (动态调整)."""
    user = me()
    project = reserve.get_project(user, reserve_id)
    values = {k: getattr(project, k) for k in RESERVE_FIELDS}
    values["next_step_on"] = project.next_step_on.isoformat() if project.next_step_on else ""
    if request.method == "POST":
        values = params.posted(ReserveForm)
        try:
            reserve.update_project(user, reserve_id, values)
        except ValidationFailedError as exc:
            return render_template("reserve/edit.html", values=values, project=project,
                                   errors=field_errors(exc.errors), **_choices()), 422
        flash("已更新 / updated", "success")
        return redirect(url_for("reserve.show", reserve_id=reserve_id))
    return render_template("reserve/edit.html", values=values, project=project, errors={},
                           **_choices())


def _show(reserve_id: int, errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    project = reserve.get_project(me(), reserve_id)
    return render_template("reserve/show.html", project=project, errors=errors or {},
                           **_choices()), status


@bp.get("/<int:reserve_id>")
@login_required
def show(reserve_id: int) -> Any:
    """One reserve project: its facts, stage history, evaluations and next step."""
    return _show(reserve_id)


@bp.post("/<int:reserve_id>/stage")
@login_required
def move(reserve_id: int) -> Any:
    """Move the project to another stage with a reason (动态调整)."""
    try:
        sent = params.posted(StageMoveForm)
        reserve.move_stage(me(), reserve_id, sent["to_stage"], sent["reason"])
    except ValidationFailedError as exc:
        return _show(reserve_id, field_errors(exc.errors), 422)
    flash("阶段已调整 / stage changed", "success")
    return redirect(url_for("reserve.show", reserve_id=reserve_id))


@bp.post("/<int:reserve_id>/evaluations")
@login_required
def evaluate(reserve_id: int) -> Any:
    """Add a periodic evaluation (定期评价)."""
    try:
        sent = params.posted(EvaluationForm)
        reserve.evaluate(me(), reserve_id, evaluated_on=sent["evaluated_on"],
                         rating=sent["rating"], note=sent["note"])
    except ValidationFailedError as exc:
        return _show(reserve_id, field_errors(exc.errors), 422)
    flash("已记录评价 / evaluation recorded", "success")
    return redirect(url_for("reserve.show", reserve_id=reserve_id))


# ---- 代企业申报 ----------------------------------------------------------------------------

def _enterprise_choice() -> tuple[int | None, filing.NewEnterprise | None]:
    form = params.posted(EnterpriseChoiceForm)
    if form["enterprise_mode"] == "new":
        return None, filing.NewEnterprise(
            name=form["new_name"], credit_code=form["new_credit_code"],
            contact_name=form["new_contact_name"], contact_phone=form["new_contact_phone"])
    return form["enterprise_id"], None


def _filing_page(values: dict[str, Any], errors: dict[str, Any], project: Any = None,
                 status: int = 200) -> Any:
    return render_template(
        "reserve/file.html", form=form_registry().get("application"), values=values,
        errors=errors, enterprises=filing.enterprises(),
        catalog=formview.catalog_choices(filing_catalog(me())),
        project=project, posted=params.as_typed() if request.method == "POST" else {}), status


@bp.route("/file", methods=["GET", "POST"])
@login_required
def file() -> Any:
    """代企业申报: the bureau or window files an application for an enterprise; 403 for others,
    422 naming the fields that are wrong (nothing is written then)."""
    user = me()
    filing.require_filer(user)
    if request.method == "GET":
        return _filing_page({}, {})
    form = form_registry().get("application")
    application = params.task_form_posted()
    data = formview.submission(form, application, filing_catalog(user))
    enterprise_id, new_enterprise = _enterprise_choice()
    try:
        case = filing.file_for_enterprise(user, data, enterprise_id=enterprise_id,
                                          new=new_enterprise)
    except ValidationFailedError as exc:
        posted = {k: application.getlist(k) for k in application}
        return _filing_page(formview.values_from_posted(posted), field_errors(exc.errors),
                            status=422)
    flash(f"已代企业提交申请：{case.reference}", "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/<int:reserve_id>/convert", methods=["GET", "POST"])
@login_required
def convert(reserve_id: int) -> Any:
    """Convert a signed reserve project into an application filed for its investor."""
    user = me()
    filing.require_filer(user)
    project = reserve.get_project(user, reserve_id)
    known = reserve.application_data(project)
    if request.method == "GET":
        if project.stage != "signed" or project.case_id is not None:
            raise ConflictError("only a signed project that is not yet a case is converted")
        return _filing_page(known, {}, project)
    form = form_registry().get("application")
    application = params.task_form_posted()
    data = formview.submission(form, application, filing_catalog(user))
    enterprise_id, new_enterprise = _enterprise_choice()
    try:
        case = reserve.convert(user, reserve_id, data, enterprise_id=enterprise_id,
                               new=new_enterprise)
    except ValidationFailedError as exc:
        posted = {k: application.getlist(k) for k in application}
        return _filing_page({**formview.values_from_posted(posted), **known},
                            field_errors(exc.errors), project, 422)
    flash(f"储备项目已转为帮办代办申请：{case.reference}", "success")
    return redirect(url_for("cases.show", case_id=case.id))


# ---- after-care and the land review -------------------------------------------------------

@bp.get("/aftercare")
@login_required
def aftercare_index() -> Any:
    """Completed projects and their milestones, with the user's open supervision tasks."""
    user = me()
    projects = aftercare.list_projects(user)
    cases = {c.id: c for c in db.session.execute(select(Case).where(
        Case.id.in_([p.case_id for p in projects]))).scalars()}
    return render_template("reserve/aftercare.html", projects=projects, cases=cases,
                           tasks=aftercare.supervision_tasks(user),
                           setting=aftercare.settings_for(None), names=aftercare.MILESTONE_NAMES,
                           today=aftercare.local_today())


def _aftercare_page(aftercare_id: int, errors: dict[str, Any] | None = None,
                    status: int = 200) -> Any:
    user = me()
    project = aftercare.get_project(user, aftercare_id)

    case = db.session.get(Case, project.case_id)
    return render_template("reserve/aftercare_show.html", project=project, case=case,
                           tasks=aftercare.tasks_of(project), names=aftercare.MILESTONE_NAMES,
                           errors=errors or {}, today=aftercare.local_today(),
                           intensity=aftercare.intensity_reached(project),
                           may_record=user.in_group(*aftercare.RECORDERS)), status


@bp.get("/aftercare/<int:aftercare_id>")
@login_required
def aftercare_show(aftercare_id: int) -> Any:
    return _aftercare_page(aftercare_id)


@bp.post("/aftercare/<int:aftercare_id>/progress")
@login_required
def aftercare_progress(aftercare_id: int) -> Any:
    """The steward records a milestone reached and/or the amount invested."""
    try:
        aftercare.record_progress(me(), aftercare_id, **params.posted(ProgressForm))
    except ValidationFailedError as exc:
        return _aftercare_page(aftercare_id, field_errors(exc.errors), 422)
    flash("已记录建设进展 / progress recorded", "success")
    return redirect(url_for("reserve.aftercare_show", aftercare_id=aftercare_id))


@bp.post("/aftercare/<int:aftercare_id>/promise")
@login_required
def aftercare_promise(aftercare_id: int) -> Any:
    """Record the promised investment intensity and the land area."""
    try:
        aftercare.save_promise(me(), aftercare_id, **params.posted(PromiseForm))
    except ValidationFailedError as exc:
        return _aftercare_page(aftercare_id, field_errors(exc.errors), 422)
    flash("已记录承诺投资强度 / promise recorded", "success")
    return redirect(url_for("reserve.aftercare_show", aftercare_id=aftercare_id))


@bp.post("/aftercare/supervision/<int:task_id>/close")
@login_required
def close_supervision(task_id: int) -> Any:
    """The responsible leader closes a supervision task with an opinion."""
    task = aftercare.close_supervision(me(), task_id, params.posted(OpinionForm)["opinion"])
    flash("督办已办结 / supervision closed", "success")
    return redirect(url_for("reserve.aftercare_show", aftercare_id=task.aftercare_id))


def _half() -> str:
    half: str | None = params.query(HalfYearQuery)["half"]
    return half or aftercare.half_of(aftercare.local_today())


@bp.get("/land-review")
@login_required
def land_review() -> Any:
    """The half-yearly land review (土地清理): projects with missed milestones."""
    half = _half()
    rows = aftercare.land_review(me(), half)
    return render_template("reserve/land_review.html", rows=rows, half=half,
                           names=aftercare.MILESTONE_NAMES,
                           setting=aftercare.settings_for(None))


@bp.get("/land-review.xlsx")
@login_required
def land_review_xlsx() -> Any:
    half = _half()

    rows = aftercare.land_review(me(), half)
    names = {r.leader: person_name(r.leader) for r in rows}
    data = aftercare.land_review_xlsx(me(), half, names)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument."
                                    "spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f"attachment; filename=land-review-{half}.xlsx"})


@bp.route("/aftercare/settings", methods=["GET", "POST"])
@login_required
def aftercare_settings() -> Any:
    """本县设置: an administrator sets a county's milestone months and warning lead."""
    user = me()
    if not user.in_group("admin"):

        raise PermissionDeniedError("only administrators change county settings")

    county: str = params.query_or_posted(CountyChoice)["county"]
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        try:
            aftercare.save_settings(user, county, params.posted(AftercareSettingsForm))
        except ValidationFailedError as exc:
            errors, status = field_errors(exc.errors), 422
        else:
            flash("已保存本县设置 / county setting saved", "success")
            return redirect(url_for("reserve.aftercare_settings", county=county))
    return render_template("reserve/aftercare_settings.html", county=county,
                           counties=list_counties(), setting=aftercare.settings_for(county),
                           limits=aftercare.LIMITS, errors=errors,
                           posted=params.as_typed() if errors else {}), status
