"""Task lists and the task page: thin views over ``tasks``, ``task_rows``, ``case_pages``
and ``attachments``."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required

from server.rules.catalog import Catalog
from server.schemas.pages import BackLink
from server.schemas.views import (
    ClaimManyForm,
    FieldVisibilityForm,
    SaveFilterForm,
    TaskActionForm,
    TaskListQuery,
)
from server.services import (
    access,
    attachments,
    case_pages,
    case_search,
    case_state,
    cases,
    directory,
    plan,
    task_rows,
    tasks,
    teams,
    visibility,
    worklist,
)
from server.services import inbox as inbox_service
from server.services.calendar import case_county
from server.services.catalog import catalog_for_case
from server.services.errors import ValidationFailedError
from server.services.forms import FormRegistry, form_registry
from server.web import formview, params
from server.web.auth.routes import home_for
from server.web.i18n import field_errors, t
from server.web.session import me, take_rescued
from server.web.tasklist import bp


def _end_of(day: date | None) -> datetime | None:
    """The last second of ``day`` in the county's time (a "due before" filter includes it)."""
    if day is None:
        return None
    return datetime.combine(day, time(23, 59, 59), task_rows.calendar().tz)


_DEFAULTS = {"scope": "all", "sort": "due", "per_page": 25}


@bp.get("/")
@login_required
def index() -> Any:
    return redirect(home_for(me()))


@bp.get("/tasks")
@login_required
def tasks_page() -> Any:
    """Ready tasks: scope (mine / groups / all), filters, sort by due date, true counts."""
    wanted = params.query(TaskListQuery)
    query = task_rows.ListQuery(**{**wanted, "due_before": _end_of(wanted["due_before"])})
    page = task_rows.task_rows(me(), query)
    # The page links keep the filters the user set (and only those).
    args = params.link_args(wanted, defaults=_DEFAULTS)
    return render_template("tasklist/index.html", page=page, query=query, args=args,
                           departments=directory.departments(), stages=case_search.stages(),
                           groups=directory.group_names(), saved=worklist.filters_of(me()),
                           current_filter=worklist.clean_query(request.query_string.decode()))


@bp.post("/tasks/claim-many")
@login_required
def claim_many() -> Any:
    """Claim the ticked group tasks; each refused one is reported with its reason."""
    sent = params.posted(ClaimManyForm)
    back = sent["back"] or url_for("tasklist.tasks_page")
    try:
        outcome = worklist.claim_many(me(), sent["task_ids"])
    except ValidationFailedError:
        flash(t("请先勾选要认领的任务"), "error")
        return redirect(back)
    if outcome.claimed:
        flash(t("已认领") + f" {len(outcome.claimed)} " + t("项"), "success")
    for _, name, why in outcome.refused:
        flash(t("未能认领") + f"：{name}（{why}）", "error")
    return redirect(back)


@bp.post("/tasks/filters")
@login_required
def save_filter() -> Any:
    """Save the list's current filter under a name (the user's own); a bad one is refused."""
    sent = params.posted(SaveFilterForm)
    try:
        saved = worklist.save_filter(me(), sent["name"], sent["query"])
    except ValidationFailedError as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("tasklist.tasks_page") + "?" +
                        worklist.clean_query(sent["query"]))
    flash(t("筛选已保存") + f"：{saved.name}", "success")
    return redirect(url_for("tasklist.tasks_page") + "?" + saved.query)


@bp.post("/tasks/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int) -> Any:
    worklist.delete_filter(me(), filter_id)
    flash(t("筛选已删除"), "success")
    return redirect(url_for("tasklist.tasks_page"))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    tasks.claim_task(me(), task_id)
    flash(t("认领成功"), "success")
    back = params.posted(BackLink)["back"]
    return redirect(back or url_for("tasklist.task", task_id=task_id))


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> Any:
    tasks.claim_task(me(), task_id, release=True)
    flash(t("已释放"), "success")
    back = params.posted(BackLink)["back"]
    return redirect(back or url_for("tasklist.tasks_page"))


def _registry() -> FormRegistry:
    return form_registry()


def render_task(item: Any, *, values: dict[str, Any] | None = None,
                errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    user = me()
    form = tasks.form_for(item)
    if values is None and item.draft and form is not None:
        values = formview.values_from_data(form, json.loads(item.draft))
    case = item.case
    catalog = catalog_for_case(case)  # the case's county's
    if values is None and form is not None and item.state == "ready":
        # A plan or notice opens filled from the catalog and the case's items.
        defaults = plan.form_defaults(form.id, case_state.live_data(case), catalog,
                                       case_county(case))
        values = formview.values_from_data(form, defaults) if defaults else None
    items = cases.case_work_items(case)
    by_task = case_pages.form_keys_of(items)
    earlier = []
    for event in case_pages.decisions(case):
        key = by_task.get(event.task_id or "")
        known = _registry().forms_of(case.deployment_id)  # the case's own form versions
        earlier_form = known.get(key) if key else None
        data = visibility.visible_data(user, earlier_form, (event.payload or {}).get("new") or {})
        earlier.append((event, formview.labelled(earlier_form, data)))

    return render_template(
        "tasklist/task.html", item=item, form=form, values=values or {}, errors=errors or {},
        row=task_rows.row_for(item), summary=case_pages.case_summary(case),
        context=task_rows.task_context(item), earlier=earlier,
        can_act=access.acting_role(user, item) is not None,
        others=[task_rows.row_for(i) for i in items if i.state == "ready" and i.id != item.id],
        files=attachments.case_attachments(case), groups=directory.group_names(),
        max_mb=attachments.max_bytes() // (1024 * 1024),
        allowed=", ".join(sorted(attachments.ALLOWED_TYPES)),
        catalog=formview.catalog_choices(catalog), labelled=formview.labelled,
        catalog_item=_catalog_item(task_rows.task_context(item), catalog),
        people=(teams.choices(case_state.live_data(case))
                if form is not None and form.id == teams.TEAM_FORM and item.state == "ready"
                else {}),
    ), status


def _catalog_item(context: dict[str, Any], catalog: Catalog) -> Any:
    """The catalog facts of a department task's approval item (level, limits, basis, materials),
    from its case's county's catalog."""
    code = (context.get("item") or {}).get("code") if isinstance(context.get("item"), dict) \
        else None
    return catalog.get(str(code)) if code and str(code) in catalog else None


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str) -> Any:
    """The task page; 403 when the task is neither the user's nor in a case they may see."""
    item = tasks.get_work_item(me(), task_id)
    rescued = take_rescued(request.path)
    if rescued is not None:
        flash(t("已恢复您登录过期前填写的内容，请检查后保存。"), "warning")
        return render_task(item, values=formview.values_from_posted(rescued))
    return render_task(item)


@bp.post("/tasks/<task_id>")
@login_required
def task_submit(task_id: str) -> Any:
    """Save a draft or submit; 422 with the form and inline errors when it does not fit."""
    user = me()
    item = tasks.get_work_item(user, task_id)
    form = tasks.form_for(item)
    posted = params.task_form_posted()
    data = (formview.submission(form, posted, catalog_for_case(item.case)) if form is not None
            else {})
    if params.posted(TaskActionForm)["action"] == "draft":
        tasks.save_draft(user, task_id, data)
        flash(t("草稿已保存"), "success")
        return redirect(url_for("tasklist.task", task_id=task_id))
    try:
        tasks.complete_task(user, task_id, data)
    except ValidationFailedError as exc:
        flash(t("请修改标红的内容后再提交"), "error")
        values = formview.values_from_posted({k: posted.getlist(k) for k in posted})
        return render_task(item, values=values, errors=field_errors(exc.errors), status=422)
    flash(t("任务已提交") + f"：{item.name}", "success")
    return redirect(home_for(user) if user.group_codes == frozenset({"enterprise"})
                    else url_for("tasklist.tasks_page"))


@bp.post("/tasks/<task_id>/attachments")
@login_required
def upload(task_id: str) -> Any:
    """Attach a file at this task; 422 with the reason when size or type are refused."""
    user = me()
    item = tasks.get_work_item(user, task_id)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return render_task(item, errors={"file": [t("请选择") + " " + t("文件")]}, status=422)
    try:
        attachments.add_attachment(user, task_id, attachments.Upload(
            sent.filename, sent.mimetype or "", sent.stream))
    except ValidationFailedError as exc:
        return render_task(item, errors=field_errors(exc.errors), status=422)
    flash(t("附件已上传"), "success")
    return redirect(url_for("tasklist.task", task_id=task_id) + "#attachments")


@bp.get("/attachments/<attachment_id>")
@login_required
def download(attachment_id: str) -> Any:
    attachment, path = attachments.open_attachment(me(), attachment_id)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename)


@bp.get("/inbox")
@login_required
def inbox() -> Any:
    """The in-app inbox: the signed-in user's notices, newest first."""
    entries = inbox_service.list_for_user(me())
    return render_template("tasklist/inbox.html", entries=entries,
                           closed=inbox_service.closed_tasks(entries))


@bp.post("/inbox/read-all")
@login_required
def inbox_read_all() -> Any:
    """Mark every notice of the signed-in user read; the header's count goes to nothing."""
    marked = inbox_service.mark_all_read(me())
    flash(t("已全部标为已读") + f"（{marked}）", "success")
    return redirect(url_for("tasklist.inbox"))


@bp.post("/inbox/<int:notice_id>/read")
@login_required
def inbox_read(notice_id: int) -> Any:
    """Mark one notice read for the signed-in user only (a notice not theirs: nothing)."""
    inbox_service.mark_read(me(), [notice_id])
    return redirect(url_for("tasklist.inbox"))


@bp.get("/settings/field-visibility")
@login_required
def field_visibility() -> Any:
    """The county's setting of which form fields are internal; 403 unless an administrator."""
    user = me()
    if not user.in_group(*visibility.SETTERS):
        abort(403)
    return render_template("tasklist/field_visibility.html", rows=visibility.field_rows())


@bp.post("/settings/field-visibility")
@login_required
def field_visibility_save() -> Any:
    """Save the ticked fields as internal (403 unless an administrator, 422 for unknown ones)."""
    chosen = set()
    for value in params.posted(FieldVisibilityForm)["internal"]:
        form_key, _, field_key = value.partition(".")
        chosen.add((form_key, field_key))
    try:
        changed = visibility.set_internal(me(), chosen)
    except ValidationFailedError as exc:
        flash(t("没有这些表单字段") + "：" + "、".join(exc.errors.get("fields", [])), "error")
        return render_template("tasklist/field_visibility.html",
                               rows=visibility.field_rows()), 422
    flash(t("已保存") + f"（{changed}）", "success")
    return redirect(url_for("tasklist.field_visibility"))
