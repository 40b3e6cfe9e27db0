"""The enterprise portal's complaint pages: where and how to complain, its complaints and the
answers, and its satisfaction with each answer."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for
from flask_login import login_required

from server.schemas.views import ComplaintForm, SatisfactionForm
from server.services import case_search, complaints
from server.services.errors import PermissionDeniedError, ValidationFailedError
from server.web import params
from server.web.i18n import field_errors
from server.web.session import me
from server.web.supervision import bp
from server.web.supervision.routes import _departments, _words


def _enterprise_user() -> Any:
    user = me()
    if complaints.ENTERPRISE not in user.group_codes or user.enterprise_id is None:
        raise PermissionDeniedError("the portal's complaint pages are for enterprises")
    return user


def _index(values: dict[str, Any], errors: dict[str, list[str]], status: int) -> Any:
    user = _enterprise_user()
    found, _ = case_search.visible_cases(user, per_page=100)
    return render_template(
        "portal/complaints.html", rows=[(c, complaints.light_of(c)) for c, _ in
                                        complaints.visible_complaints(user)],
        cases=found, departments=_departments(), setting=complaints.setting_for(None),
        values=values, errors=errors, **_words()), status


@bp.get("/portal/complaints")
@login_required
def portal_complaints() -> Any:
    """Where and how to complain (004 六(二)), the enterprise's complaints and the form.
    403 for anyone but an enterprise's user."""
    return _index({}, {}, 200)


@bp.post("/portal/complaints")
@login_required
def portal_complaint_file() -> Any:
    """File a complaint; 422 with located errors, 403 for another enterprise's case."""
    user = _enterprise_user()
    values = params.posted(ComplaintForm)
    try:
        found = complaints.file_complaint(user, values)
    except ValidationFailedError as exc:
        return _index(values, field_errors(exc.errors), 422)
    return redirect(url_for("supervision.portal_complaint", complaint_id=found.id))


def _show(complaint_id: int, errors: dict[str, list[str]], status: int) -> Any:
    user = _enterprise_user()
    complaint, role = complaints.get_for(user, complaint_id)
    if role != "complainant":
        raise PermissionDeniedError("you may not see this complaint")
    return render_template("portal/complaint.html", c=complaint,
                           light=complaints.light_of(complaint),
                           on_time=complaints.answered_on_time(complaint), errors=errors,
                           **_words()), status


@bp.get("/portal/complaints/<int:complaint_id>")
@login_required
def portal_complaint(complaint_id: int) -> Any:
    """The enterprise's complaint, its limit and (once given) the office's answer. 403 for
    another enterprise, 404 when there is no such complaint."""
    return _show(complaint_id, {}, 200)


@bp.post("/portal/complaints/<int:complaint_id>/rate")
@login_required
def portal_complaint_rate(complaint_id: int) -> Any:
    """The enterprise's satisfaction with the answer; 422 before an answer, 403 others."""
    user = _enterprise_user()
    try:
        rating = params.posted(SatisfactionForm)
        complaints.rate(user, complaint_id, rating["satisfaction"], rating["satisfaction_note"])
    except ValidationFailedError as exc:
        return _show(complaint_id, field_errors(exc.errors), 422)
    return redirect(url_for("supervision.portal_complaint", complaint_id=complaint_id))
