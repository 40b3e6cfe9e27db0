"""Case list and the case page."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from server.services import attachments, cases, tasks, workspace
from server.services.errors import ValidationFailedError
from server.services.forms import form_registry
from server.web.cases import bp
from server.web.i18n import field_errors, lang, t
from server.web.pages import MAX_PAGE
from server.web.session import me


@bp.get("")
@login_required
def index() -> Any:
    """Cases the user may read, newest first, with their worst light."""
    try:
        page = min(max(1, int(request.args.get("page", 1))), MAX_PAGE)
    except ValueError:
        page = 1
    status = request.args.get("status") or None
    found, total = workspace.visible_cases(me(), page=page, status=status)
    rows = []
    for case in found:
        items = cases.case_work_items(case)
        rows.append((case, workspace.case_summary(case), workspace.case_light(items),
                     [i for i in items if i.state == "ready"]))
    return render_template("cases/index.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // 25)), status=status)


def case_view(case_id: str) -> dict[str, Any]:
    """Everything the case page and the portal's progress page show; raises as ``get_case``."""
    user = me()
    case = cases.get_case(user, case_id)
    items = cases.case_work_items(case)
    history = cases.case_history(case)
    diagram = workspace.diagram_for(case, items, history)
    return {
        "case": case, "summary": workspace.case_summary(case), "history": history,
        "rows": [workspace.row_for(i) for i in items], "nodes": workspace.progress(case, items),
        "case_light": workspace.case_light(items),
        "working": [workspace.row_for(i) for i in items if i.state == "ready"],
        "diagram": diagram,
        "diagram_json": json.dumps({"xml": diagram.xml, "done": diagram.done,
                                    "active": diagram.active, "overdue": diagram.overdue},
                                   ensure_ascii=False),
        "files": attachments.case_attachments(case),
        "records": _record_titles(workspace.completed_form_keys(case)),
        "groups": workspace.group_names(),
        # Leaders and administrators may hand each open task to someone else (转办).
        "reassign": {i.id: tasks.eligible_assignees(i) for i in items if i.state == "ready"}
        if tasks.reassigning_role(user) else {},
    }


def _record_titles(keys: list[str]) -> list[tuple[str, str]]:
    registry = form_registry()
    known = registry.ids()
    out = []
    for key in keys:
        form = registry.get(key) if key in known else None
        title = key if form is None else (form.title_en if lang() == "en" else form.title)
        out.append((key, title))
    return out


@bp.get("/<case_id>")
@login_required
def show(case_id: str) -> Any:
    """The case page; 403 when the user may not read the case, 404 when there is none."""
    return render_template("cases/show.html", **case_view(case_id))


@bp.post("/<case_id>/tasks/<task_id>/reassign")
@login_required
def reassign(case_id: str, task_id: str) -> Any:
    """Reassign an open task (转办); 403/404/409 as the service refuses, 422 with the case
    page and the form's errors when the reason is missing or the person may not take it."""
    try:
        tasks.reassign_task(me(), task_id, to_username=request.form.get("to") or None,
                            reason=request.form.get("reason", ""))
    except ValidationFailedError as exc:
        flash(t("转办未完成，请检查转办对象和理由"), "error")
        return render_template("cases/show.html", **case_view(case_id),
                               reassign_errors={task_id: field_errors(exc.errors)},
                               reassign_values={task_id: request.form}), 422
    flash(t("已转办"), "success")
    return redirect(url_for("cases.show", case_id=case_id))
