"""Words, not codes: the one formatting layer pages and prints use for coded values.

Registered once as Jinja filters (``init_words``): a task's stage (the BPMN property
``stage``) by its name, an industry code by the option label of the application form
(``forms/application.form``, read through the form registry, never a second table), a user
by display name, a role or group by its name, a task by its name and its approval item.
Datetimes go through the ``local`` filter (``server/web/pages.py``): China time, no ISO ``T``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, g
from flask_login import current_user
from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.services import inbox, records
from server.services.directory import group_names
from server.services.forms import form_registry
from server.services.task_rows import task_title
from server.web.i18n import EN, lang, t

_Table = TypeVar("_Table")


def _cached(name: str, load: Callable[[], _Table]) -> _Table:
    """One lookup table per request (users, groups, form codes are read at most once)."""
    cache = g.setdefault("_guanjia_words", {})
    if name not in cache:
        cache[name] = load()
    table: _Table = cache[name]
    return table


def stage_name(code: str | None) -> str:
    """intake → 申请受理 (Intake in English); an unknown stage stays as it is."""
    if not code:
        return ""
    names = records.STAGES.get(code)
    if names is None:
        return code
    return names[1] if lang() == "en" else names[0]


def industry_name(code: str | None) -> str:
    """manufacturing → the application form's label for it; unknown codes stay as they are."""
    if not code:
        return ""

    def load() -> dict[str, str]:

        return records.code_labels(form_registry().all()).get("industry", {})

    return _cached("industry", load).get(str(code), str(code))


def person_name(username: str | None) -> str:
    """zhaoshang → 赵商 (the user's display name); a name nobody has stays as it is."""
    if not username:
        return ""

    def load() -> dict[str, str]:

        return dict(db.session.execute(select(User.username, User.display_name)).all())

    return _cached("users", load).get(username) or username


def group_name(code: str | None) -> str:
    """bureau → 投资促进局 (its English name in English); unknown codes stay as they are."""
    if not code:
        return ""

    def load() -> dict[str, tuple[str, str]]:
        return group_names()

    names = _cached("groups", load).get(code)
    if names is None:
        return code
    return (names[1] or names[0]) if lang() == "en" else names[0]


# Task and case states; their English is in the i18n table.
_STATES = {"ready": "待办理", "completed": "已完成", "cancelled": "已取消", "running": "进行中",
           "terminated": "已终止", "rejected": "已终止"}


def state_name(code: str | None) -> str:
    """running → 进行中 (Running in English); an unknown state stays as it is."""
    return t(_STATES.get(code or "", code or ""))


def unread_notices() -> int:
    """The signed-in user's unread notices about work still open (0 when signed out)."""


    if not current_user.is_authenticated:
        return 0
    return _cached("unread", lambda: inbox.unread_open_count(current_user.user))


def words_json() -> str:
    """The code → word tables as JSON, for pages that draw recorded data in the browser (the
    audit replay): users, groups, industries, stages and states, in the page's language."""


    users = _cached("users", lambda: dict(db.session.execute(
        select(User.username, User.display_name)).all()))
    groups = {code: group_name(code) for code in _cached("groups", group_names)}
    industry_name("_")  # loads the industry table into this request's cache
    industries = dict(g.get("_guanjia_words", {}).get("industry", {}))
    return json.dumps({"users": {u: n for u, n in users.items() if n},
                       "groups": groups, "industries": industries,
                       "stages": {c: stage_name(c) for c in records.STAGES},
                       "states": {c: state_name(c) for c in _STATES}},
                      ensure_ascii=False).replace("</", "<\\/")


# The English of the words this layer and the first-hour pages add (the i18n table's form).
FIRST_HOUR_EN = {
    "未读": "Unread", "全部标为已读": "Mark all read", "已全部标为已读": "All marked read",
    "已关闭：任务已办理": "Closed: the task is done", "流程设计": "Designer", "审计": "Audit",
    "格式": "Format", "年-月-日": "yyyy-mm-dd", "年-月-日 时:分": "yyyy-mm-dd hh:mm",
    "时:分": "hh:mm", "内部字段": "Internal fields", "内部": "Internal", "公开": "Shown",
    "表单": "Form", "字段": "Field", "表单默认": "Form default", "本县设置": "County setting",
    "没有这些表单字段": "No such form fields", "已保存": "Saved",
    "请先勾选要认领的任务": "Tick the tasks to claim first", "已认领": "Claimed", "项": "",
    "未能认领": "Not claimed", "筛选已保存": "Filter saved", "筛选已删除": "Filter deleted",
    "我的筛选": "My filters", "删除": "Delete", "暂无": "None yet", "筛选名称": "Filter name",
    "保存当前筛选": "Save this filter", "放大": "Zoom in", "缩小": "Zoom out",
    "当前环节": "Current steps", "全图": "Whole diagram", "查看事项子流程": "Item sub-process",
    "主流程": "Main process", "认领所选": "Claim selected", "选择": "Select",
    "勾选的字段为内部意见：只有本县工作人员可见，企业的任务页面、企业门户和打印的记录中都不显示。"
    "种子材料未规定哪些意见对企业公开，由本县设置；表单中标为内部的字段默认勾选。":
        "Ticked fields are internal opinions: only the county's staff see them; the "
        "enterprise's task pages, portal and printed records leave them out. The seeds do not "
        "say which opinions the enterprise may read, so the county sets it; fields the form "
        "marks internal start ticked.",
}


def init_words(app: Flask) -> None:

    for zh, en in FIRST_HOUR_EN.items():
        EN.setdefault(zh, en)
    app.jinja_env.filters.update(stage=stage_name, industry=industry_name, person=person_name,
                                 group=group_name, task_title=task_title, state=state_name)
    app.jinja_env.globals["nav_unread"] = unread_notices
    app.jinja_env.globals["words_json"] = words_json
