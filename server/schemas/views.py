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
    OutputFormat,
    Pagination,
    Params,
    RecordId,
    Text,
    Ticked,
    TolerantDate,
    TolerantInteger,
)
from server.services import aftercare, counties, report_books, reserve

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


class HandUpForm(Params):
    """A county department hands a 州-level item up (tasklist/handups.py)."""

    note = Text()


class HandupDecisionForm(Params):
    """The prefecture department's decision on a handed-up item (tasklist/handups.py)."""

    decision = Choice(("approve", "refuse"), fallback="")
    approval_number = Text(strip=True, max_length=100)
    reason = Text()


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
    # One county of the user's (a prefecture user drilling down from the roll-up).
    county = Text(strip=True)


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


# --- reserve (项目储备库, 代企业申报, after-care) -----------------------------------------------


class ReserveListQuery(Params):
    """The reserve list's and board's filters."""

    stage = Text()
    industry = Text()
    area = Text()
    leader = Text()
    q = Text()


#: A reserve project's fields, as ``services.reserve`` names and validates them.
ReserveForm = Params.from_dict({name: Text() for name in reserve.FIELDS}, name="ReserveForm")


class StageMoveForm(Params):
    to_stage = Text()
    reason = Text()


class EvaluationForm(Params):
    evaluated_on = Text()
    rating = Text()
    note = Text()


class EnterpriseChoiceForm(Params):
    """Whom an application is filed for: a known enterprise or a new one (the application's
    own fields are the ``application`` form's)."""

    enterprise_mode = Text()
    enterprise_id = TolerantInteger(fallback=None, minimum=0, clamp=False)
    new_name = Text()
    new_credit_code = Text()
    new_contact_name = Text()
    new_contact_phone = Text()


class ProgressForm(Params):
    milestone = Text()
    happened_on = Text()
    invested_wan = Text()
    note = Text()


class PromiseForm(Params):
    intensity = Text()
    land_mu = Text()


class OpinionForm(Params):
    opinion = Text()


class CountyEditQuery(Params):
    """``/admin/calendar?edit=dayao``: the county whose settings the form opens with."""

    edit = OptionalText()


class HalfYearQuery(Params):
    """``?half=2026H2``; None for the current half-year."""

    half = OptionalText()


class CountyChoice(Params):
    county = Text()


#: A county's after-care months and warning lead (``services.aftercare`` checks the ranges).
AftercareSettingsForm = Params.from_dict({name: Given() for name in aftercare.LIMITS},
                                         name="AftercareSettingsForm")


# --- supervision (投诉举报, scorecards) -----------------------------------------------------


class ComplaintForm(Params):
    """A complaint as filed (``services.complaints.file_complaint`` checks what the channel
    requires)."""

    subject = Given()
    content = Given()
    channel = Given()
    complainant_name = Given()
    complainant_phone = Given()
    department = Given()
    person = Given()
    case = Given()


class ReferralForm(Params):
    department = Text()
    question = Text()


class DepartmentAnswerForm(Params):
    department_answer = Text()


class ComplaintDecisionForm(Params):
    investigation = Given()
    result = Given()
    feedback = Given()


class SatisfactionForm(Params):
    satisfaction = Text()
    satisfaction_note = Text()


class ComplaintSettingForm(Params):
    handling_days = Text()
    phones = Text()


class ScorecardQuery(OutputFormat):
    """A scorecard's period: ``month`` / ``quarter`` / ``year`` and which one (``at``, read by
    ``services.scorecards.period_of``, which refuses what it cannot read with a 422)."""

    period = Text(load_default="month")
    at = Text()


# --- auth -------------------------------------------------------------------------------


class SignInForm(Params):
    username = Text()
    password = Text()


class SignInName(Params):
    """The user name a sign-in attempt names (the lock is per name); None when not posted."""

    username = Given()


class NextQuery(Params):
    """``?next=`` after signing in (``auth.routes`` follows only a path on this site)."""

    next = OptionalText()


class PasswordChangeForm(Params):
    current_password = Text()
    new_password = Text()
    new_password_again = Text()


# --- admin ------------------------------------------------------------------------------


class UserForm(Params):
    username = Text()
    display_name = Text()
    password = Text()
    groups = Many()
    area = Text()
    enterprise_id = RecordId()
    active = Ticked()
    # A county's code, "*" for the prefecture; absent: unchanged (a new user: the default).
    county = OptionalText()


class GroupForm(Params):
    code = Text(strip=True)
    name = Text()
    name_en = Text()
    kind = Text(load_default="role")


class GroupEditQuery(Params):
    edit = OptionalText()


class EnterpriseForm(Params):
    name = Text()
    area = Text()


class CalendarNoticeForm(Params):
    """A pasted holiday notice, previewed (``action=preview``) or loaded for a county."""

    notice = Text()
    county = Text()
    action = Text()


class CountyCatalogForm(Params):
    """A county's item catalog: a CSV uploaded (or pasted) to replace it, or ``inherit`` to
    go back to the prefecture's."""

    county = Text(strip=True)
    action = Choice(("save", "inherit"), fallback="save")
    catalog = Text()


class CountyCatalogQuery(Params):
    """Which county's catalog the page shows, and ``download`` for its CSV."""

    county = Text(strip=True)
    download = Ticked()


#: A county's settings, as ``services.counties`` names and validates them.
CountyForm = Params.from_dict({name: Text() for name in counties.FIELDS}, name="CountyForm")


# --- agencies (中介服务) -------------------------------------------------------------------


class IntermediaryServiceForm(Params):
    """A line of 中介服务事项清单 (``services.intermediaries.save_service`` checks it)."""

    name = Given()
    basis = Given()
    fee_standard = Given()
    regulator = Given()
    complaint_phone = Given()
    limit_days = Given()


class AgencyRegistrationForm(Params):
    agency_name = Given()
    qualification = Given()
    certificate_no = Given()
    credit_code = Given()
    phone = Given()
    valid_until = Given()
    service_id = Given()


class AgencyChoiceForm(Params):
    item_code = Given()
    service_id = Given()
    agency_id = Given()


class DeliveryForm(Params):
    delivered_on = Text()


class AgencyRatingForm(Params):
    rating = Given()
    rating_comment = Given()
    complaint = Given()


# --- policies ---------------------------------------------------------------------------


class PolicyForm(Params):
    """A policy draft; ``areas_more`` (typed, comma separated) joins the ticked ``areas``."""

    title = Given()
    issuer = Given()
    document_no = Given()
    file_url = Given()
    summary = Given()
    body = Given()
    industries = Many()
    areas = Many()
    areas_more = Text()
    min_investment_wan = Given()
    max_investment_wan = Given()
    valid_from = Given()
    valid_until = Given()


# --- reports (月报/季报) ------------------------------------------------------------------


class PrepareReportForm(Params):
    kind = Text()
    period = Text()


#: The lead steward's 进展 / 问题 / 计划 for one case (``report_books.NOTE_FIELDS``).
ReportNoteForm = Params.from_dict({name: Text() for name in report_books.NOTE_FIELDS},
                                  name="ReportNoteForm")


class SubmittedOnForm(Params):
    submitted_on = Text()


class ReasonForm(Params):
    reason = Text()


# --- audit ------------------------------------------------------------------------------


class AuditCaseListQuery(Pagination):
    q = Text(strip=True)


class AuditCasesQuery(OutputFormat):
    """The cases an export or a verification is about (``?case=ID``, repeatable; none: all)."""

    case = Many()


# --- dashboard --------------------------------------------------------------------------


class DashboardItemsQuery(Pagination):
    """A dashboard number's drill-down: the open approval items it counts."""

    light = Text(strip=True)
    department = Text(strip=True)
    stage = Text(strip=True)
    industry = Text(strip=True)
    county = Text(strip=True)


class DashboardQuery(Params):
    """The dashboard of one county of the user's (``county``; absent: all of them)."""

    county = Text(strip=True)


# --- designer ---------------------------------------------------------------------------


class DesignerOpenQuery(Params):
    """Which version of a file to open (``version``; the draft or the newest when absent),
    or ``new`` for an empty editor."""

    version = TolerantInteger(fallback=None)
    new = Text()


class VersionPairQuery(Params):
    """The two versions a diff compares (``?from=3&to=4``); None when absent or unreadable."""

    old = TolerantInteger(fallback=None, data_key="from")
    new = TolerantInteger(fallback=None, data_key="to")


class UploadCommentForm(Params):
    comment = Text()
    # The deploy target: a county's code, "*" for the prefecture (全州（市）); absent: the
    # designer's own (a county designer's is always their county).
    county = OptionalText()
