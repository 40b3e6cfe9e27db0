"""The query and form parameters of each HTML view, grouped by blueprint.

Built from the shared field types of ``server/schemas/pages.py``; loaded by
``server/web/params.py``. Task-form submissions are not here (``forms/`` validates them).
"""

from __future__ import annotations

from server.schemas.pages import (
    MAX_PAGE,
    BackLink,
    Choice,
    Given,
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


# --- cases ------------------------------------------------------------------------------


class CaseListQuery(Pagination):
    """``/cases``: the search box and the filters."""

    q = Text(strip=True, max_length=100)
    status = OptionalText()
    light = Text()
    department = Text()
    stage = Text()
    area = Text(strip=True)
    started_from = TolerantDate()
    started_to = TolerantDate()
    ended_from = TolerantDate()
    ended_to = TolerantDate()


class ReassignForm(Params):
    to = OptionalText()
    reason = Text()


class TeamForm(Params):
    steward_username = Text()
    leader_username = Text()
    co_agents = Many()
    reason = Text()


class ArchiveExceptionForm(Params):
    records = Many()
    reason = Text()


class ReleaseItemForm(Params):
    mode = Text()
    reason = Text()


class ProjectForm(Params):
    """The project's facts (``projects.check_facts`` validates them); a field not posted is
    not sent (the land contract date has two names)."""

    project_code = Given()
    ownership = Given()
    project_type = Given()
    land_contract_on = Given()
    land_contract_signed_on = Given()


class ProxyConfirmationForm(Params):
    """The enterprise's confirmation beside the step done on its behalf (the step's own
    fields are the task form's)."""

    confirmation_kind = Text()
    confirmation_code = Text()


class TerminationProposalForm(Params):
    reason_code = Text()
    detail = Text()


class TerminationDecisionForm(Params):
    decision = Text()
    note = Text()


class ReturnVisitForm(Params):
    method = Given()
    findings = Given()
    enterprise_remarks = Given()
    visited_on = Given()
