"""The bureau's policy list and form, one policy with its read receipts, and "policies for you"."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import login_required

from server.schemas.views import PolicyForm
from server.services import policies
from server.services.errors import ValidationFailedError
from server.web import params
from server.web.i18n import field_errors, t
from server.web.policies import bp
from server.web.session import me


def _list_page(errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    return render_template("policies/index.html", found=policies.list_policies(me()),
                           industries=policies.INDUSTRIES, areas=policies.known_areas(me()),
                           errors=errors or {}), status


@bp.get("")
@login_required
def index() -> Any:
    """The bureau's policies (leaders and auditors read them too); 403 for anyone else."""
    user = me()
    if not (policies.may_edit(user) or user.in_group("leader", "auditor")):
        abort(403)
    return _list_page()


@bp.post("")
@login_required
def create() -> Any:
    """Record a draft policy; 403 outside the bureau, 422 with located messages."""
    user = me()
    data = params.posted(PolicyForm)
    data["areas"] = data["areas"] + policies.split_words(data.pop("areas_more"))
    try:
        policy = policies.create_policy(user, data)
    except ValidationFailedError as exc:
        return _list_page(field_errors(exc.errors), 422)
    flash(t("政策已保存（草稿）") + f"：{policy.title}", "success")
    return redirect(url_for("policies.show", policy_id=policy.id))


@bp.get("/<int:policy_id>")
@login_required
def show(policy_id: int) -> Any:
    """One policy; the bureau sees who it reached and who has not read it. 403 otherwise."""
    return _show_page(policy_id)


def _show_page(policy_id: int, errors: dict[str, list[str]] | None = None,
               status: int = 200) -> Any:
    user = me()
    policy = policies.view_policy(user, policy_id)
    receipts = (policies.receipts(user, policy_id)
                if policies.may_edit(user) or user.in_group("leader", "auditor") else [])
    return render_template("policies/show.html", policy=policy, receipts=receipts,
                           mine=policies.delivery_of(user, policy), errors=errors or {},
                           may_edit=policies.may_edit(user),
                           industries=policies.INDUSTRIES), status


@bp.post("/<int:policy_id>/publish")
@login_required
def publish(policy_id: int) -> Any:
    """Push the policy to whom it concerns; 403 outside the bureau, 422 when published/expired."""
    user = me()
    try:
        sent = policies.publish(user, policy_id)
    except ValidationFailedError as exc:
        return _show_page(policy_id, field_errors(exc.errors), 422)
    flash(t("已推送") + f"：{len(sent)}", "success")
    return redirect(url_for("policies.show", policy_id=policy_id))


@bp.post("/<int:policy_id>/read")
@login_required
def read(policy_id: int) -> Any:
    """The recipient confirms reading (已阅); 403 for a policy not pushed to them."""
    policies.mark_read(me(), policy_id)
    flash(t("已记录阅读"), "success")
    return redirect(url_for("policies.show", policy_id=policy_id))


@bp.get("/for-me")
@login_required
def for_me() -> Any:
    """为您推荐的政策: what was pushed to the enterprise, or to a lead steward."""
    return render_template("policies/for_me.html", found=policies.deliveries_for(me()),
                           industries=policies.INDUSTRIES)
