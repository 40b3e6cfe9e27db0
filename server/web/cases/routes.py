"""Case list and the case page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import login_required

from server.engine import clock
from server.rules.catalog import STAGES
from server.rules.project import OWNERSHIPS, PROJECT_TYPES
from server.schemas.views import (
    ArchiveExceptionForm,
    CaseListQuery,
    ProjectForm,
    ReassignForm,
    ReleaseItemForm,
    TeamForm,
)
from server.services import (
    archive,
    attachments,
    case_pages,
    case_search,
    case_state,
    cases,
    dashboard,
    directory,
    intermediaries,
    projects,
    proxy,
    return_visits,
    staging,
    subdiagrams,
    task_rows,
    tasks,
    teams,
    termination,
)
from server.services.errors import ValidationFailedError
from server.services.forms import form_registry
from server.services.gantt import build_gantt
from server.services.item_progress import item_progress
from server.web import params
from server.web.cases import bp
from server.web.i18n import field_errors, lang, t
from server.web.session import me


@bp.get("")
@login_required
def index() -> Any:
    """Cases the user may read, newest first, found by the search box and the filters, with
    the worst light of their open approval items."""
    wanted = params.query(CaseListQuery)
    page = wanted.pop("page")
    query = case_search.CaseQuery(**wanted)
    found, total = case_search.visible_cases(me(), page=page, query=query)
    lights = dashboard.case_lights(case_ids=[c.id for c in found])
    # The page's open tasks in one query (one per case was a query per row).
    ready = cases.ready_work_items([c.id for c in found])
    rows = [(case, case_pages.case_summary(case), lights.get(case.id, "green"),
             ready.get(case.id, [])) for case in found]
    filters = params.link_args(wanted)
    return render_template("cases/index.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // 25)), status=query.status, query=query,
                           filters=filters, departments=directory.departments(),
                           stages=STAGES)


def case_view(case_id: str) -> dict[str, Any]:
    """Everything the case page and the portal's progress page show; raises as ``get_case``."""
    user = me()
    case = cases.get_case(user, case_id)
    items = cases.case_work_items(case)
    history = cases.case_history(case)
    diagram = case_pages.diagram_for(case, items, history)
    data = case_state.live_data(case)
    # Items the plan withdrew while they waited for their prerequisites (after hand-over).
    dropped = {str(d.get("code")) for e in history if e.type == "plan_items_changed"
               for d in (e.payload or {}).get("dropped", []) if isinstance(d, dict)}
    approval_items = item_progress(
        case, items, [i for i in data.get("items") or [] if isinstance(i, dict)], dropped)
    calendar = task_rows.calendar()
    gantt = build_gantt(approval_items, list(data.get("plan_timetable") or []),
                        calendar.local_date(clock.now()), calendar.local_date)
    return {
        "case": case, "summary": case_pages.case_summary(case), "history": history,
        "rows": [task_rows.row_for(i) for i in items], "nodes": case_pages.progress(case, items),
        "case_light": task_rows.case_light(items),
        "working": [task_rows.row_for(i) for i in items if i.state == "ready"],
        "diagram": diagram,
        "diagram_json": json.dumps({"xml": diagram.xml, "done": diagram.done,
                                    "active": diagram.active, "overdue": diagram.overdue,
                                    "sub": subdiagrams.item_diagrams(case, items)},
                                   ensure_ascii=False),
        "files": attachments.case_attachments(case),
        "approval_items": approval_items, "gantt": gantt,
        "agency_work": intermediaries.timeline(case),
        "project": projects.project_view(case, approval_items),
        "can_edit_project": user.in_group(*projects.EDITORS),
        "ownerships": OWNERSHIPS, "project_types": PROJECT_TYPES,
        "early_modes": staging.DECISION_MODES if staging.early_release_role(user, case) else {},
        "records": _record_titles(case_pages.completed_form_keys(case)),
        "groups": directory.group_names(),
        # Leaders and administrators may hand each open task to someone else (转办).
        "reassign": {i.id: tasks.eligible_assignees(i) for i in items if i.state == "ready"}
        if tasks.reassigning_role(user) else {},
        "team": teams.team_view(user, case, data),
        "archive": archive.archive_view(user, case, items),
        "proxy": proxy.proxy_view(user, case),
        "termination": termination.termination_view(user, case),
        "visits": return_visits.visits_view(user, case),
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


def on_case_page(case_id: str, step: Callable[[], object], *, done: str, refused: str,
                 section: str, row: str | None = None, keep_typed: bool = True) -> Any:
    """Run ``step``, a decision posted from the case page: back to the page with ``done``
    flashed; or, when the service refuses the input (``ValidationFailedError``, nothing
    changed), the page again (422) with ``refused``, the ``<section>_errors`` and what was
    typed as ``<section>_values`` (keyed by ``row`` where the page has a form per row)."""
    try:
        step()
    except ValidationFailedError as exc:
        flash(refused, "error")
        shown: dict[str, Any] = {f"{section}_errors": field_errors(exc.errors)}
        if keep_typed:
            shown[f"{section}_values"] = params.as_typed()
        if row is not None:
            shown = {key: {row: value} for key, value in shown.items()}
        return render_template("cases/show.html", **case_view(case_id), **shown), 422
    flash(done, "success")
    return redirect(url_for("cases.show", case_id=case_id))



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
    def step() -> None:
        sent = params.posted(ReassignForm)
        tasks.reassign_task(me(), task_id, to_username=sent["to"], reason=sent["reason"])

    return on_case_page(case_id, step, done=t("已转办"),
                        refused=t("转办未完成，请检查转办对象和理由"),
                        section="reassign", row=task_id)


@bp.post("/<case_id>/team")
@login_required
def change_team(case_id: str) -> Any:
    """Change the case's steward team (a recorded decision); 403/404/409 as the service
    refuses, 422 with the case page and the errors when a person or the reason is wrong."""
    def step() -> None:
        sent = params.posted(TeamForm)
        teams.change_team(me(), case_id, steward=sent["steward_username"],
                          leader=sent["leader_username"], co_agents=sent["co_agents"],
                          reason=sent["reason"])

    return on_case_page(case_id, step, done=t("已调整服务团队"),
                        refused=t("团队未调整，请检查人员和理由"), section="team")


@bp.post("/<case_id>/archive-exception")
@login_required
def archive_exception(case_id: str) -> Any:
    """A leader excuses records missing from the archive (recorded); 403/404/409 as the
    service refuses, 422 with the case page and the errors when records or reason are wrong."""
    def step() -> None:
        sent = params.posted(ArchiveExceptionForm)
        archive.record_exception(me(), case_id, sent["records"], sent["reason"])

    return on_case_page(case_id, step, done=t("已记录归档例外"),
                        refused=t("例外未记录，请选择材料并填写理由"), section="archive",
                        keep_typed=False)


@bp.post("/<case_id>/items/<code>/release")
@login_required
def release_item(case_id: str, code: str) -> Any:
    """Send a waiting item's task sheet before its prerequisites are done (并联 / 容缺) or
    drop it from the plan;
    403/404/409 as the service refuses, 422 with the case page when mode or reason is missing."""
    def step() -> None:
        sent = params.posted(ReleaseItemForm)
        staging.release_item_early(me(), case_id, code, mode=sent["mode"], reason=sent["reason"])

    return on_case_page(case_id, step, done=t("已记录决定"),
                        refused=t("决定未记录，请选择方式并填写理由"), section="release",
                        row=code)


@bp.post("/<case_id>/project")
@login_required
def record_project(case_id: str) -> Any:
    """Record the project's code, ownership, type and land contract date; 403/404 as the
    service refuses, 422 with the case page and each bad field's error (nothing saved)."""
    case = cases.get_case(me(), case_id)
    return on_case_page(case_id,
                        lambda: projects.update_project(me(), case, params.posted(ProjectForm)),
                        done=t("已保存"), refused=t("项目信息未保存，请检查标红的内容"),
                        section="project")
