"""Users, groups, departments and enterprises (administrators only)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from server.schemas.views import EnterpriseForm, GroupEditQuery, GroupForm, UserForm
from server.services import accounts
from server.services.catalog import catalog_for_user
from server.services.errors import ConflictError, ValidationFailedError
from server.web import params
from server.web.admin import bp
from server.web.i18n import field_errors, t
from server.web.session import me


@bp.before_request
@login_required
def _admins_only() -> None:
    accounts.require_admin(me())


@bp.get("")
def index() -> Any:
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users() -> Any:
    admin = me()
    return render_template("admin/users.html", users=accounts.list_users(admin),
                           counties={c.code: c.name for c in accounts.list_counties()})


def _user_form(user: Any, *, errors: dict[str, list[str]] | None = None,
               status: int = 200) -> Any:
    return render_template("admin/user_edit.html", user=user, groups=accounts.list_groups(),
                           enterprises=accounts.list_enterprises(),
                           counties=accounts.list_counties(me()),
                           prefecture=accounts.PREFECTURE if me().county is None else None,
                           errors=errors or {}), status


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int | None = None) -> Any:
    """Create or edit a user; 422 with the form when it does not fit, 409 if the name is taken."""
    existing = accounts.get_user(user_id, me()) if user_id is not None else None
    if request.method == "GET":
        return _user_form(existing)
    try:
        saved = accounts.save_user(me(), user_id=user_id, **params.posted(UserForm))
    except ValidationFailedError as exc:
        return _user_form(existing, errors=field_errors(exc.errors), status=422)
    except ConflictError as exc:
        return _user_form(existing, errors={"username": [exc.detail]}, status=409)
    flash(t("已保存") + f"：{saved.username}", "success")
    return redirect(url_for("admin.users"))


@bp.route("/groups", methods=["GET", "POST"])
def groups() -> Any:
    """Groups (roles) and departments; posting adds or renames one."""
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            accounts.save_group(me(), **params.posted(GroupForm))
        except ValidationFailedError as exc:
            errors, status = field_errors(exc.errors), 422
        else:
            flash(t("已保存"), "success")
            return redirect(url_for("admin.groups"))
    groups = accounts.list_groups()
    catalog = catalog_for_user(me())  # the administrator's county's (本县 or 州)
    # Departments are data: how many catalog items each owns, and owners with no group yet
    # (their task sheets would reach nobody).
    owned = Counter(item.department for item in catalog)
    present = {g.code for g in groups}
    missing = [(code, catalog.departments[code].name if code in catalog.departments else code)
               for code in sorted(owned) if code not in present]
    edit = params.query(GroupEditQuery)["edit"]
    editing = next((g for g in groups if g.code == edit), None)
    return render_template("admin/groups.html", groups=groups,
                           counts=accounts.member_counts(me()), errors=errors, owned=owned,
                           missing=missing, editing=editing,
                           enterprises=accounts.list_enterprises()), status


@bp.post("/enterprises")
def enterprises() -> Any:
    try:
        accounts.save_enterprise(me(), **params.posted(EnterpriseForm))
    except (ValidationFailedError, ConflictError) as exc:
        flash(exc.detail, "error")
    else:
        flash(t("已保存"), "success")
    return redirect(url_for("admin.groups"))
