"""The dashboard and its drill-down list of open approval items."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import login_required

from server.services import dashboard
from server.services.workspace import display_names, group_names
from server.web.dashboard import bp
from server.web.session import me

PER_PAGE = 50


@bp.get("")
@login_required
def index() -> Any:
    """Open items and projects by light, department, stage and industry; the red list; this
    month's cases; on-time rates. 403 for anyone but leaders, the bureau and the auditors."""
    view = dashboard.overview(me())
    first, nxt = dashboard.month_range()
    return render_template("dashboard/index.html", o=view, groups=group_names(),
                           owners=display_names(sorted({i.owner for i in view.red
                                                        if i.owner})),
                           month_from=first.isoformat(), month_to=nxt.isoformat())


@bp.get("/items")
@login_required
def items() -> Any:
    """The open approval items one dashboard number counts (light, department, stage,
    industry), paged; 403 as the dashboard."""
    wanted = dashboard.ItemFilter(**{k: request.args.get(k, "").strip()
                                     for k in ("light", "department", "stage", "industry")})
    found = dashboard.filtered_items(me(), wanted)
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    shown = found[(page - 1) * PER_PAGE:page * PER_PAGE]
    return render_template("dashboard/items.html", items=shown, total=len(found), page=page,
                           pages=max(1, -(-len(found) // PER_PAGE)), wanted=wanted,
                           groups=group_names(),
                           owners=display_names(sorted({i.owner for i in shown if i.owner})))
