"""Words, not codes: the one formatting layer pages and prints use for coded values.

Registered once as Jinja filters (``init_words``): a task's stage (the BPMN property
``stage``) by its name, an industry code by the option label of the application form
(``forms/application.form``, read through the form registry, never a second table), a user
by display name, a role or group by its name, a task by its name and its approval item.
Datetimes go through the ``local`` filter (``server/web/pages.py``): China time, no ISO ``T``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from sqlalchemy import select

from server.extensions import db
from server.services import records
from server.services.workspace import group_names, task_title
from server.web.i18n import lang, t


def _cached(name: str, load: Any) -> Any:
    """One lookup table per request (users, groups, form codes are read at most once)."""
    cache = g.setdefault("_guanjia_words", {})
    if name not in cache:
        cache[name] = load()
    return cache[name]


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
        from server.services.forms import form_registry

        return records.code_labels(form_registry().all()).get("industry", {})

    return _cached("industry", load).get(str(code), str(code))


def person_name(username: str | None) -> str:
    """zhaoshang → 赵商 (the user's display name); a name nobody has stays as it is."""
    if not username:
        return ""

    def load() -> dict[str, str]:
        from server.models import User

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


def init_words(app: Flask) -> None:
    app.jinja_env.filters.update(stage=stage_name, industry=industry_name, person=person_name,
                                 group=group_name, task_title=task_title, state=state_name)
