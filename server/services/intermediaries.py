"""The intermediary service market (中介超市): the list, registered agencies, the enterprise's
choice, the agency's own dates and light, ratings, and the agencies' record.

Seeds: 004 §五(六) — 投资审批中介服务事项，由委托方自主选择中介机构，县投资审批中介超市提供政策
解答、信息查询、业务指导服务 (附件6); 003 §四(四) — the list carries 设定依据、办理时限、取费标准、
监管部门、投诉电话, and agencies are rated (考核评价: 定期考评、信息公示).

The agency's work runs on its own clock: its due date is counted from the day the enterprise
chose it, in the service's working days on the county's calendar, and its light is computed
here. The approval item's light and the plan's timeline (``server.services.gantt``) never read
these rows, so an agency running late cannot turn the department's item red.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import Case, User
from server.models.intermediaries import (
    Agency,
    AgencyEngagement,
    AgencyRegistration,
    IntermediaryService,
)
from server.models.teams import CaseTeam
from server.services import tenancy
from server.services.audit import record_event
from server.services.case_state import live_data
from server.services.catalog import catalog_for_case, catalog_for_user
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.task_rows import calendar

EDITORS = ("bureau", "bureau_head", "admin")
REVIEWERS = (*EDITORS, "leader", "auditor")
YELLOW_DAYS = 2  # the agency's light turns yellow this many working days before its due date


def may_edit(user: User) -> bool:
    return user.in_group(*EDITORS)


def _require_editor(user: User) -> None:
    if not may_edit(user):
        raise PermissionDeniedError("only the investment promotion bureau keeps the market")


def _today() -> date:

    return calendar().local_date(clock.now())


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` on the county's calendar (start itself if n=0)."""

    cal = calendar()
    day, left = start, n
    while left > 0:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            left -= 1
    return day


def working_days_left(today: date, due: date) -> int:

    cal = calendar()
    if today >= due:
        return -sum(1 for k in range(1, (today - due).days + 1)
                    if cal.is_working_day(due + timedelta(days=k)))
    return sum(1 for k in range(1, (due - today).days + 1)
               if cal.is_working_day(today + timedelta(days=k)))


# ---- the list (中介服务事项清单) and the agencies ----

def catalog_service_names(user: User | None = None) -> list[str]:
    """Every intermediary service some item of the user's county's catalog names (the
    prefecture's, ``GUANJIA_CATALOG_FILE``, for a prefecture user or none)."""
    names: list[str] = []
    for item in catalog_for_user(user):
        for name in item.intermediaries:
            if name not in names:
                names.append(name)
    return names


def list_services() -> list[IntermediaryService]:
    return list(db.session.execute(
        select(IntermediaryService).order_by(IntermediaryService.id)).scalars())


def _text(data: dict[str, Any], key: str, limit: int, errors: dict[str, list[str]],
          required: bool = False) -> str:
    value = str(data.get(key) or "").strip()
    if required and not value:
        errors[key] = ["此项为必填 / required"]
    elif len(value) > limit:
        errors[key] = [f"最多 {limit} 字 / at most {limit} characters"]
    return value


def save_service(user: User, data: dict[str, Any]) -> IntermediaryService:
    """Add or update a line of the list (by name); 403 outside the bureau, 422 when bad."""
    _require_editor(user)
    errors: dict[str, list[str]] = {}
    name = _text(data, "name", 200, errors, required=True)
    fields: dict[str, Any] = {"basis": _text(data, "basis", 2000, errors, required=True),
              "fee_standard": _text(data, "fee_standard", 2000, errors, required=True),
              "regulator": _text(data, "regulator", 200, errors, required=True),
              "complaint_phone": _text(data, "complaint_phone", 50, errors, required=True)}
    try:
        limit_days = int(str(data.get("limit_days") or ""))
        if not 1 <= limit_days <= 365:
            raise ValueError
        fields["limit_days"] = limit_days
    except ValueError:
        errors["limit_days"] = ["1–365 个工作日 / 1 to 365 working days"]
    if name and name not in catalog_service_names(user) and not errors.get("name"):
        errors["name"] = [f"事项目录未列此中介服务：{name} / not an intermediary service "
                          "the catalog names"]
    if errors:
        raise ValidationFailedError("the intermediary service is not valid", errors)
    service = db.session.execute(select(IntermediaryService)
                                 .where(IntermediaryService.name == name)).scalar_one_or_none()
    if service is None:
        service = IntermediaryService(name=name)
        db.session.add(service)
    for key, value in fields.items():
        setattr(service, key, value)
    service.updated_by, service.updated_at = user.username, clock.now()
    db.session.flush()
    record_event(None, "intermediary_service_saved", actor=user.username,
                 payload={"service_id": service.id, "name": name, **fields})
    db.session.commit()
    return service


def get_service(service_id: int) -> IntermediaryService:
    service = db.session.get(IntermediaryService, service_id)
    if service is None:
        raise NotFoundError(f"no intermediary service {service_id}")
    return service


def list_agencies() -> list[Agency]:
    return list(db.session.execute(select(Agency).order_by(Agency.name)).scalars())


def register_agency(user: User, data: dict[str, Any]) -> AgencyRegistration:
    """Register an agency (new or known, by name) for one service with its qualification."""
    _require_editor(user)
    errors: dict[str, list[str]] = {}
    name = _text(data, "agency_name", 200, errors, required=True)
    qualification = _text(data, "qualification", 300, errors, required=True)
    certificate_no = _text(data, "certificate_no", 100, errors)
    credit_code = _text(data, "credit_code", 18, errors)
    phone = _text(data, "phone", 50, errors)
    valid_until = None
    if data.get("valid_until"):
        try:
            valid_until = date.fromisoformat(str(data["valid_until"]))
        except ValueError:
            errors["valid_until"] = ["日期格式 YYYY-MM-DD / a date YYYY-MM-DD"]
    raw = str(data.get("service_id") or "")
    service = db.session.get(IntermediaryService, int(raw)) if raw.isdigit() else None
    if service is None:
        errors["service_id"] = ["请选择清单中的中介服务 / choose a service of the list"]
    if errors:
        raise ValidationFailedError("the registration is not valid", errors)
    assert service is not None
    agency = db.session.execute(select(Agency).where(Agency.name == name)).scalar_one_or_none()
    if agency is None:
        agency = Agency(name=name, credit_code=credit_code, phone=phone,
                        created_by=user.username, created_at=clock.now())
        db.session.add(agency)
        db.session.flush()
    known = db.session.execute(select(AgencyRegistration).where(
        AgencyRegistration.agency_id == agency.id,
        AgencyRegistration.service_id == service.id)).scalar_one_or_none()
    if known is not None:
        db.session.rollback()
        raise ConflictError(f"{name} is registered for {service.name} already")
    registration = AgencyRegistration(agency_id=agency.id, service_id=service.id,
                                      qualification=qualification,
                                      certificate_no=certificate_no, valid_until=valid_until,
                                      registered_by=user.username, registered_at=clock.now())
    db.session.add(registration)
    db.session.flush()
    record_event(None, "agency_registered", actor=user.username,
                 payload={"agency_id": agency.id, "agency": name, "service_id": service.id,
                          "qualification": qualification, "certificate_no": certificate_no})
    db.session.commit()
    return registration


def agencies_for(service_id: int) -> list[AgencyRegistration]:
    return list(db.session.execute(
        select(AgencyRegistration).join(Agency)
        .where(AgencyRegistration.service_id == service_id).order_by(Agency.name)).scalars())


# ---- a case's needs and the enterprise's choice ----

@dataclass
class Need:
    item_code: str
    item_name: str
    service_name: str
    service: IntermediaryService | None
    engagement: AgencyEngagement | None
    choices: list[AgencyRegistration]


def _case_items(case: Case) -> list[dict[str, Any]]:

    return [i for i in live_data(case).get("items") or [] if isinstance(i, dict)]


def case_needs(case: Case) -> list[Need]:
    """Per item of the case, each intermediary service its county's catalog entry names."""
    catalog = catalog_for_case(case)
    services = {s.name: s for s in list_services()}
    engaged = {(e.item_code, e.service_id): e for e in case_engagements(case)}
    needs = []
    for item in _case_items(case):
        code = str(item.get("code") or "")
        if code not in catalog:
            continue
        for name in catalog.get(code).intermediaries:
            service = services.get(name)
            needs.append(Need(code, str(item.get("name") or code), name, service,
                              engaged.get((code, service.id)) if service else None,
                              agencies_for(service.id) if service else []))
    return needs


def case_engagements(case: Case) -> list[AgencyEngagement]:
    return list(db.session.execute(
        select(AgencyEngagement).where(AgencyEngagement.case_id == case.id)
        .order_by(AgencyEngagement.id)).scalars())


def own_enterprise(user: User, case: Case) -> bool:
    return (user.in_group("enterprise") and case.enterprise_id is not None
            and user.enterprise_id == case.enterprise_id)


def choose_agency(user: User, case_id: str, data: dict[str, Any]) -> AgencyEngagement:
    """The enterprise's own choice of agency for a service one item of its case needs.

    Only the case's enterprise chooses (委托方自主选择, 004 §五(六)): anyone else gets 403. An
    agency not registered for the service, a service the item does not need, or a second
    choice for the same need is refused (422/409) and nothing is written.
    """
    case = db.session.get(Case, case_id)
    if case is None or not tenancy.in_scope(user, case):
        raise NotFoundError(f"no case {case_id}")
    if not own_enterprise(user, case):
        raise PermissionDeniedError("only the case's enterprise chooses its agency")
    if case.status != "running":
        raise ConflictError("the case is not open")
    item_code = str(data.get("item_code") or "")
    try:
        service_id, agency_id = int(str(data.get("service_id"))), int(str(data.get("agency_id")))
    except ValueError:
        raise ValidationFailedError("choose a service and an agency",
                                    {"agency_id": ["请选择中介机构 / choose an agency"]}) from None
    need = next((n for n in case_needs(case) if n.item_code == item_code
                 and n.service is not None and n.service.id == service_id), None)
    if need is None or need.service is None:
        raise ValidationFailedError("the case's items do not need this service",
                                    {"service_id": ["本案事项不需要此中介服务 / not needed"]})
    if need.engagement is not None:
        raise ConflictError("an agency is chosen for this service already")
    registration = next((r for r in need.choices if r.agency_id == agency_id), None)
    if registration is None:
        agency = db.session.get(Agency, agency_id)
        raise ValidationFailedError(
            "the agency is not registered for this service",
            {"agency_id": [f"{agency.name if agency else agency_id} 未在中介超市登记"
                           f"「{need.service_name}」服务 / not registered for the service"]})
    today = _today()
    engagement = AgencyEngagement(
        case_id=case.id, item_code=item_code, service_id=service_id, agency_id=agency_id,
        chosen_by=user.username, chosen_at=clock.now(), started_on=today,
        due_on=add_working_days(today, need.service.limit_days), rating_comment="",
        complaint="")
    db.session.add(engagement)
    db.session.flush()
    record_event(case, "agency_chosen", actor=user.username, role="enterprise",
                 payload={"engagement_id": engagement.id, "item_code": item_code,
                          "service": need.service_name, "agency_id": agency_id,
                          "agency": registration.agency.name,
                          "due_on": engagement.due_on.isoformat()})
    db.session.commit()
    return engagement


def _engagement_for(user: User, engagement_id: int, *, stewards: bool) -> AgencyEngagement:
    engagement = db.session.get(AgencyEngagement, engagement_id)
    if engagement is None:
        raise NotFoundError(f"no agency engagement {engagement_id}")
    case = db.session.get(Case, engagement.case_id)
    assert case is not None
    if not tenancy.in_scope(user, case):
        raise NotFoundError(f"no agency engagement {engagement_id}")
    allowed = own_enterprise(user, case)
    if stewards and not allowed:

        team = db.session.get(CaseTeam, case.id)
        allowed = team is not None and user.username == team.steward
    if not allowed:
        raise PermissionDeniedError("not your case's agency")
    return engagement


def engagement_case_id(engagement_id: int) -> str:
    engagement = db.session.get(AgencyEngagement, engagement_id)
    if engagement is None:
        raise NotFoundError(f"no agency engagement {engagement_id}")
    return engagement.case_id


def record_delivery(user: User, engagement_id: int, delivered_on: Any) -> AgencyEngagement:
    """The agency handed over its work (the enterprise or the case's lead steward says when)."""
    engagement = _engagement_for(user, engagement_id, stewards=True)
    try:
        day = date.fromisoformat(str(delivered_on))
    except ValueError:
        raise ValidationFailedError("a date YYYY-MM-DD", {"delivered_on": [
            "日期格式 YYYY-MM-DD / a date YYYY-MM-DD"]}) from None
    if day < engagement.started_on or day > _today():
        raise ValidationFailedError("the date is outside the agency's work", {"delivered_on": [
            "交付日期须在选定之日与今天之间 / between the choice and today"]})
    engagement.delivered_on = day
    case = db.session.get(Case, engagement.case_id)
    record_event(case, "agency_work_delivered", actor=user.username,
                 payload={"engagement_id": engagement.id, "delivered_on": day.isoformat(),
                          "on_time": day <= engagement.due_on})
    db.session.commit()
    return engagement


def rate_agency(user: User, engagement_id: int, data: dict[str, Any]) -> AgencyEngagement:
    """The enterprise rates its agency 1–5, with a comment and, if any, a complaint."""
    engagement = _engagement_for(user, engagement_id, stewards=False)
    try:
        rating = int(str(data.get("rating") or ""))
        if not 1 <= rating <= 5:
            raise ValueError
    except ValueError:
        raise ValidationFailedError("a rating 1 to 5", {"rating": [
            "请评 1–5 分 / rate 1 to 5"]}) from None
    engagement.rating = rating
    engagement.rating_comment = str(data.get("rating_comment") or "").strip()[:2000]
    engagement.complaint = str(data.get("complaint") or "").strip()[:2000]
    engagement.rated_by, engagement.rated_at = user.username, clock.now()
    case = db.session.get(Case, engagement.case_id)
    record_event(case, "agency_rated", actor=user.username, role="enterprise",
                 payload={"engagement_id": engagement.id, "rating": rating,
                          "complaint": bool(engagement.complaint)})
    db.session.commit()
    return engagement


# ---- the agency's own light and the bureau's review (中介考评) ----

def agency_light(engagement: AgencyEngagement, today: date | None = None) -> str:
    """done | late_done | red | yellow | green — the agency's clock, never the department's."""
    today = today or _today()
    if engagement.delivered_on is not None:
        return "done" if engagement.delivered_on <= engagement.due_on else "late_done"
    if today > engagement.due_on:
        return "red"
    return "yellow" if working_days_left(today, engagement.due_on) <= YELLOW_DAYS else "green"


@dataclass
class AgencyRecord:
    agency: Agency
    engagements: int
    delivered: int
    on_time: int
    late_open: int
    ratings: int
    average: float | None
    complaints: list[str]


def agency_records(user: User) -> list[AgencyRecord]:
    """Each agency's record: on time, ratings, complaints (003 §四(四) 考核评价)."""
    if not user.in_group(*REVIEWERS):
        raise PermissionDeniedError("only the bureau reviews the agencies")
    today = _today()
    engagements = list(db.session.execute(select(AgencyEngagement)).scalars())
    out = []
    for agency in list_agencies():
        mine = [e for e in engagements if e.agency_id == agency.id]
        rated = [e.rating for e in mine if e.rating is not None]
        out.append(AgencyRecord(
            agency, len(mine), sum(e.delivered_on is not None for e in mine),
            sum(e.delivered_on is not None and e.delivered_on <= e.due_on for e in mine),
            sum(e.delivered_on is None and today > e.due_on for e in mine), len(rated),
            round(sum(rated) / len(rated), 1) if rated else None,
            [e.complaint for e in mine if e.complaint]))
    return out


@dataclass
class TimelineRow:
    engagement: AgencyEngagement
    item_name: str
    light: str


def timeline(case: Case) -> list[TimelineRow]:
    """The agencies' rows shown beside the plan's timeline, each with the agency's own light."""
    engagements = case_engagements(case)
    if not engagements:
        return []
    names = {str(i.get("code")): str(i.get("name") or i.get("code")) for i in _case_items(case)}
    today = _today()
    return [TimelineRow(e, names.get(e.item_code, e.item_code), agency_light(e, today))
            for e in engagements]
