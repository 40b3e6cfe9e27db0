"""The bureau's list of services and agencies, a case's agencies (the enterprise chooses and
rates), and the agencies' record the bureau reviews."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import login_required

from server.schemas.views import (
    AgencyChoiceForm,
    AgencyRatingForm,
    AgencyRegistrationForm,
    DeliveryForm,
    IntermediaryServiceForm,
)
from server.services import cases, intermediaries
from server.services.errors import ValidationFailedError
from server.web import params
from server.web.agencies import bp
from server.web.i18n import field_errors, t
from server.web.session import me


def _market(errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    user = me()
    if not user.in_group(*intermediaries.REVIEWERS):
        abort(403)
    return render_template("agencies/index.html", services=intermediaries.list_services(),
                           names=intermediaries.catalog_service_names(user),
                           agencies=intermediaries.list_agencies(),
                           may_edit=intermediaries.may_edit(user), errors=errors or {}), status


@bp.get("")
@login_required
def index() -> Any:
    """中介服务事项清单 and the registered agencies; 403 outside the bureau and leaders."""
    return _market()


@bp.post("/services")
@login_required
def save_service() -> Any:
    """Add or update a line of the list; 403 outside the bureau, 422 with located messages."""
    try:
        service = intermediaries.save_service(me(), params.posted(IntermediaryServiceForm))
    except ValidationFailedError as exc:
        return _market(field_errors(exc.errors), 422)
    flash(t("已保存") + f"：{service.name}", "success")
    return redirect(url_for("agencies.index"))


@bp.post("/registrations")
@login_required
def register() -> Any:
    """Register an agency for a service; 403 outside the bureau, 422/409 when refused."""
    try:
        registration = intermediaries.register_agency(me(),
                                                      params.posted(AgencyRegistrationForm))
    except ValidationFailedError as exc:
        return _market(field_errors(exc.errors), 422)
    flash(t("已登记") + f"：{registration.agency.name}", "success")
    return redirect(url_for("agencies.index"))


@bp.get("/record")
@login_required
def record() -> Any:
    """中介考评: each agency's on-time record, ratings and complaints (003 §四(四))."""
    return render_template("agencies/record.html",
                           records=intermediaries.agency_records(me()))


def _case_page(case_id: str, errors: dict[str, list[str]] | None = None,
               status: int = 200) -> Any:
    user = me()
    case = cases.get_case(user, case_id)
    engagements = intermediaries.case_engagements(case)
    return render_template("agencies/case.html", case=case,
                           needs=intermediaries.case_needs(case),
                           lights={e.id: intermediaries.agency_light(e) for e in engagements},
                           is_enterprise=intermediaries.own_enterprise(user, case),
                           errors=errors or {}), status


@bp.get("/cases/<case_id>")
@login_required
def case(case_id: str) -> Any:
    """The intermediary services the case's items need and the agencies chosen; 403 as the
    case page."""
    return _case_page(case_id)


@bp.post("/cases/<case_id>/choose")
@login_required
def choose(case_id: str) -> Any:
    """The enterprise chooses its agency; 403 for anyone else, 422/409 when refused."""
    try:
        engagement = intermediaries.choose_agency(me(), case_id,
                                                  params.posted(AgencyChoiceForm))
    except ValidationFailedError as exc:
        return _case_page(case_id, field_errors(exc.errors), 422)
    flash(t("已选定中介机构") + f"：{engagement.agency.name}", "success")
    return redirect(url_for("agencies.case", case_id=case_id))


@bp.post("/engagements/<int:engagement_id>/delivered")
@login_required
def delivered(engagement_id: int) -> Any:
    """Record the day the agency delivered; 403 outside the enterprise and lead steward."""
    try:
        engagement = intermediaries.record_delivery(me(), engagement_id,
                                                    params.posted(DeliveryForm)["delivered_on"])
    except ValidationFailedError as exc:
        return _case_page(intermediaries.engagement_case_id(engagement_id),
                          field_errors(exc.errors), 422)
    flash(t("已记录交付"), "success")
    return redirect(url_for("agencies.case", case_id=engagement.case_id))


@bp.post("/engagements/<int:engagement_id>/rate")
@login_required
def rate(engagement_id: int) -> Any:
    """The enterprise rates its agency; 403 for anyone else, 422 for a bad rating."""
    try:
        engagement = intermediaries.rate_agency(me(), engagement_id,
                                                params.posted(AgencyRatingForm))
    except ValidationFailedError as exc:
        return _case_page(intermediaries.engagement_case_id(engagement_id),
                          field_errors(exc.errors), 422)
    flash(t("评价已提交"), "success")
    return redirect(url_for("agencies.case", case_id=engagement.case_id))
