"""The query and form parameters of each HTML view, grouped by blueprint.

Built from the shared field types of ``server/schemas/pages.py``; loaded by
``server/web/params.py``. Task-form submissions are not here (``forms/`` validates them).
"""

from __future__ import annotations

from server.schemas.pages import (
    MAX_PAGE,
    BackLink,
    Choice,
    Many,
    OptionalText,
    Pagination,
    Params,
    Text,
    TolerantDate,
    TolerantInteger,
)

# --- tasklist ---------------------------------------------------------------------------


class TaskListQuery(Pagination):
    """``/tasks``: the ready-task list's scope, filters, sort and page."""

    scope = Choice(("mine", "groups", "all"), fallback="all")
    department = OptionalText()
    stage = OptionalText()
    light = OptionalText()
    due_before = TolerantDate()
    sort = Text(load_default="due")
    q = Text(strip=True, max_length=100)
    per_page = TolerantInteger(fallback=25, minimum=1, maximum=MAX_PAGE)


class ClaimManyForm(BackLink):
    task_ids = Many()


class SaveFilterForm(Params):
    name = Text()
    query = Text()


class TaskActionForm(Params):
    """A task page's small forms: ``action`` (draft or submit) beside the task's own fields."""

    action = Text()


class ItemClockForm(Params):
    """Stop, restart or refer an approval item's clock (tasklist/clock.py)."""

    action = Text()
    kind = Text()
    reason = Text()
    cap_days = TolerantInteger(fallback=None, minimum=0, clamp=False)
    level = Text()
    outcome = Text()


class FieldVisibilityForm(Params):
    internal = Many()
