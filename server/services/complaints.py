"""Complaints (投诉举报): intake, the supervision office's investigation, the answer, and the
complainant's satisfaction.

Seed 004 六(二): the leading group brings the concierge service under supervision (督查) and
sets up 投诉举报 with published telephones; seed 002: 及时受理和办结投资企业投诉. The office
(督查室, group ``supervision``) answers within the county's handling limit (a county setting:
the seeds give no number), counted in working days on the county calendar.

Who sees what: the office sees everything; the complaining enterprise sees its complaints and
the answer; the department complained about sees only the office's question and its own answer
(not who complained, nor the findings); anyone else is refused.

Every step is committed with its audit event; a complaint about a case writes into that case's
chain under the case lock (these events may follow the case's end: ``AFTER_SEAL``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from server.engine import clock
from server.extensions import db
from server.models import Case, Complaint, ComplaintSetting, Group, User
from server.rules.lights import item_light
from server.services.audit import record_event
from server.services.calendar import case_county, current_calendar, default_county
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError
from server.services.notifications import notify
from server.services.store import case_store, with_retries
from server.services.tenancy import CountyScope, county_scope

OFFICE = "supervision"
#: Staff who take a complaint by telephone, letter or visit (the 004 telephones ring at the
#: 政务服务管理局 and the 投资促进局; the window and the office take them as well).
INTAKE = frozenset({"window", "bureau", "bureau_head", OFFICE})
ENTERPRISE = "enterprise"
CHANNELS = {"portal": "企业门户", "phone": "电话", "letter": "来信", "visit": "来访"}
SUBJECTS = {"case": "案件（项目）", "department": "部门", "person": "工作人员"}
RESULTS = {"upheld": "成立", "partly_upheld": "部分成立", "not_upheld": "不成立"}
UPHELD = frozenset({"upheld", "partly_upheld"})
SATISFACTION = {"satisfied": "满意", "basically": "基本满意", "dissatisfied": "不满意"}
STATUSES = {"received": "已受理", "investigating": "调查中", "answered": "已答复",
            "closed": "已评价办结"}
#: Seed 004 六(二): 县政务服务管理局0878-6222018；县投资促进局0878-6222322.
SEED_PHONES = "县政务服务管理局 0878-6222018；县投资促进局 0878-6222322"
DEFAULT_HANDLING_DAYS = 15  # the installation's default until a county sets its own
EVENT_TYPES = ("complaint_filed", "complaint_referred", "complaint_department_answered",
               "complaint_answered", "complaint_rated")


@dataclass(frozen=True)
class Setting:
    """A county's complaint setting as used (``stored``: set by the county, not the default)."""

    county: str
    handling_days: int
    phones: str
    stored: bool


def _county_key(county: str | None) -> str:
    return county or ""


def setting_for(county: str | None) -> Setting:
    """The handling limit and telephones of ``county`` (the default county when None)."""

    key = _county_key(county or default_county())
    row = db.session.get(ComplaintSetting, key)
    if row is None:
        return Setting(key, DEFAULT_HANDLING_DAYS, SEED_PHONES, False)
    return Setting(key, row.handling_days, row.phones or SEED_PHONES, True)


def change_setting(user: User, handling_days: Any, phones: str,
                   county: str | None = None) -> Setting:
    """Set the county's handling limit (本县设置); commits with ``complaint_setting_changed``.

    Raises ``PermissionDeniedError`` (not the office or an administrator),
    ``ValidationFailedError`` (a limit that is not 1–60 working days).
    """

    if not user.group_codes & {OFFICE, "admin"}:
        raise PermissionDeniedError("only the supervision office sets the complaint limit")
    try:
        days = int(str(handling_days).strip())
    except ValueError:
        days = 0
    if not 1 <= days <= 60:
        raise ValidationFailedError("the handling limit must be 1 to 60 working days",
                                    {"handling_days": ["办理时限须为1至60个工作日"]})
    key = _county_key(county or default_county())
    row = db.session.get(ComplaintSetting, key)
    old = None if row is None else {"handling_days": row.handling_days, "phones": row.phones}
    if row is None:
        row = ComplaintSetting(county=key)
        db.session.add(row)
    row.handling_days, row.phones = days, phones.strip()[:500]
    row.updated_by, row.updated_at = user.username, clock.now()
    record_event(None, "complaint_setting_changed", actor=user.username, role=OFFICE,
                 payload={"county": key, "old": old,
                          "new": {"handling_days": days, "phones": row.phones}})
    db.session.commit()
    return setting_for(key or None)


# ---- who sees what -------------------------------------------------------------------------
def role_towards(user: User, complaint: Complaint) -> str | None:
    """``office`` / ``complainant`` / ``intake`` (the clerk who recorded it) / ``department``
    (its part only), or None."""
    groups = user.group_codes
    if OFFICE in groups:
        return "office"
    if (ENTERPRISE in groups and user.enterprise_id is not None
            and complaint.enterprise_id == user.enterprise_id):
        return "complainant"
    if complaint.filed_by == user.username:
        # The clerk who took a telephone complaint follows it (to call the complainant back)
        # but does not speak for the complainant.
        return "intake"
    if complaint.department and complaint.department in groups \
            and complaint.referred_at is not None:
        return "department"
    return None


def get_for(user: User, complaint_id: int) -> tuple[Complaint, str]:
    """The complaint and the viewer's role. Raises ``NotFoundError``, ``PermissionDeniedError``."""
    complaint = db.session.get(Complaint, complaint_id)
    scope = county_scope(user)
    if complaint is None or not (scope.covers(complaint.county) or (
            scope.enterprise_id is not None and complaint.enterprise_id == scope.enterprise_id)):
        # Another county's complaint is as unknown as a made-up number.
        raise NotFoundError(f"complaint {complaint_id} does not exist")
    role = role_towards(user, complaint)
    if role is None:
        raise PermissionDeniedError("you may not see this complaint")
    return complaint, role


def visible_complaints(user: User) -> list[tuple[Complaint, str]]:
    """The complaints ``user`` may open, newest first, each with the viewer's role."""
    groups = user.group_codes
    query = select(Complaint).where(county_scope(user).condition(Complaint.county,
                                                                 Complaint.enterprise_id))
    if OFFICE not in groups:
        mine = [Complaint.filed_by == user.username]
        if ENTERPRISE in groups and user.enterprise_id is not None:
            mine.append(Complaint.enterprise_id == user.enterprise_id)
        departments = [g for g in groups if g.startswith("dept_")]
        if departments:
            mine.append(Complaint.department.in_(departments)
                        & Complaint.referred_at.is_not(None))
        query = query.where(or_(*mine))
    rows = db.session.execute(query.order_by(Complaint.filed_at.desc(),
                                             Complaint.id.desc())).scalars()
    out = []
    for c in rows:
        role = role_towards(user, c)
        if role is not None:
            out.append((c, role))
    return out


def light_of(complaint: Complaint, now: datetime | None = None) -> str | None:
    """The handling light of an unanswered complaint (None once answered)."""

    if complaint.decided_at is not None:
        return None
    calendar = current_calendar(county=complaint.county)
    return item_light(complaint.due_at, now or clock.now(), calendar).code


def answered_on_time(complaint: Complaint) -> bool | None:
    return None if complaint.decided_at is None else complaint.decided_at <= complaint.due_at


# ---- the steps -----------------------------------------------------------------------------
def _text(data: dict[str, Any], key: str, errors: dict[str, list[str]], message: str,
          *, required: bool = True, limit: int = 4000) -> str:
    value = str(data.get(key) or "").strip()
    if required and not value:
        errors.setdefault(key, []).append(message)
    return value[:limit]


def _choice(data: dict[str, Any], key: str, choices: dict[str, str],
            errors: dict[str, list[str]], message: str) -> str:
    value = str(data.get(key) or "").strip()
    if value not in choices:
        errors.setdefault(key, []).append(message)
    return value


def _notify(complaint: Complaint, title: str, *, users: Sequence[str] = (),
            groups: Sequence[str] = (), kind: str = "new_task") -> None:
    """A notice (inbox and mail) in the step's transaction, through the public notifier; its
    body is the page where the reader finds the complaint."""

    portal = kind == "result_ready" and complaint.channel == "portal"
    path = f"/{'portal' if portal else 'supervision'}/complaints/{complaint.id}"
    notify(kind=kind, title=f"{title} {complaint.reference}", body=path, users=users,
           groups=groups, dedupe_key=f"complaint:{complaint.id}:{title}",
           county=complaint.county)


def _commit(case_id: str | None, step: Callable[[], Complaint], type_: str, user: User,
            role: str, payload: Callable[[Complaint], dict[str, Any]],
            notice: Callable[[Complaint], None] | None = None) -> Complaint:
    """Run ``step`` and record its event (and ``notice``) in one transaction: in the case's
    chain, under the case lock, when the complaint is about a case."""
    if case_id is None:
        complaint = step()
        db.session.flush()
        record_event(None, type_, actor=user.username, role=role,
                     payload={"complaint_id": complaint.id, **payload(complaint)})
        if notice is not None:
            notice(complaint)
        db.session.commit()
        return complaint

    def locked() -> int:
        with case_store().locked(case_id) as live:
            complaint = step()
            db.session.flush()
            record_event(live.case, type_, actor=user.username, role=role,
                         payload={"complaint_id": complaint.id, **payload(complaint)})
            if notice is not None:
                notice(complaint)
            return complaint.id

    complaint_id = with_retries(locked)
    found = db.session.get(Complaint, complaint_id)
    assert found is not None
    return found


def file_complaint(user: User, data: dict[str, Any]) -> Complaint:
    """Record a complaint: an enterprise from its portal, or intake staff from a telephone
    call, letter or visit; commits with ``complaint_filed``.

    Raises ``PermissionDeniedError`` (neither an enterprise nor intake staff, or a case not
    the enterprise's own), ``ValidationFailedError`` (missing or unknown fields).
    """

    groups = user.group_codes
    portal = ENTERPRISE in groups and not groups & INTAKE
    if portal and user.enterprise_id is None:
        raise PermissionDeniedError("this account belongs to no enterprise")
    if not portal and not groups & INTAKE:
        raise PermissionDeniedError("only enterprises and intake staff record complaints")
    errors: dict[str, list[str]] = {}
    subject = _choice(data, "subject", SUBJECTS, errors, "请选择投诉对象")
    content = _text(data, "content", errors, "请写明投诉内容")
    channel = "portal" if portal else _choice(
        {"channel": data.get("channel")}, "channel",
        {k: v for k, v in CHANNELS.items() if k != "portal"}, errors, "请选择受理渠道")
    name = _text(data, "complainant_name", errors, "请填写投诉人", required=not portal,
                 limit=100)
    phone = _text(data, "complainant_phone", errors, "请填写联系电话", required=not portal,
                  limit=40)
    department = _text(data, "department", errors, "请选择被投诉部门",
                       required=subject == "department", limit=64)
    if department and db.session.execute(select(Group.code).where(
            Group.code == department, Group.kind == "department")).first() is None:
        errors.setdefault("department", []).append("没有这个部门")
    person = _text(data, "person", errors, "请填写被投诉的工作人员",
                   required=subject == "person", limit=100)
    case_ref = _text(data, "case", errors, "请选择被投诉的案件", required=subject == "case",
                     limit=40)
    case = None
    if case_ref:
        # Only a case of the filer's county: another county's number is unknown here.
        case = db.session.execute(select(Case).where(
            or_(Case.id == case_ref, Case.reference == case_ref),
            county_scope(user).case_condition())).scalar_one_or_none()
        if case is None:
            errors.setdefault("case", []).append("没有这个案件编号")
    if errors:
        raise ValidationFailedError("the complaint is incomplete", errors)
    if portal and case is not None and case.enterprise_id != user.enterprise_id:
        raise PermissionDeniedError("an enterprise complains about its own cases only")
    county = case_county(case) if case is not None else (user.county or default_county())
    setting = setting_for(county)
    now = clock.now()
    due = current_calendar(county=county).add_working_days(now, setting.handling_days).at
    # Only a portal complaint is the enterprise's: a caller complaining about a case may be
    # anyone (a neighbour, a supplier), and the enterprise must not read what they said.
    enterprise_id = user.enterprise_id if portal else None

    def step() -> Complaint:
        complaint = Complaint(
            county=county, channel=channel, enterprise_id=enterprise_id,
            complainant_name=name or (user.enterprise.name if user.enterprise else ""),
            complainant_phone=phone, subject=subject, case_id=case.id if case else None,
            department=department, person=person, content=content, filed_by=user.username,
            filed_at=now, handling_days=setting.handling_days, due_at=due, status="received",
            question="", department_answer="", investigation="", feedback="",
            satisfaction_note="")
        db.session.add(complaint)
        return complaint

    return _commit(case.id if case else None, step, "complaint_filed", user,
                   ENTERPRISE if portal else next(iter(sorted(groups & INTAKE))),
                   lambda c: {"channel": channel, "subject": subject,
                              "department": department, "due_at": due.isoformat(),
                              "handling_days": setting.handling_days},
                   lambda c: _notify(c, "新投诉待督查室办理", groups=[OFFICE]))


def _complainants(complaint: Complaint) -> list[str]:
    """Who is told of the answer: the enterprise's users (portal), else the intake clerk who
    telephones the complainant back."""
    if complaint.channel == "portal" and complaint.enterprise_id is not None:
        return list(db.session.execute(select(User.username).join(User.groups).where(
            Group.code == ENTERPRISE, User.enterprise_id == complaint.enterprise_id)).scalars())
    return [complaint.filed_by]


def _office_complaint(user: User, complaint_id: int) -> Complaint:
    complaint, role = get_for(user, complaint_id)
    if role != "office":
        raise PermissionDeniedError("only the supervision office handles complaints")
    return complaint


def refer_to_department(user: User, complaint_id: int, department: str,
                        question: str) -> Complaint:
    """The office asks the department complained about for its account; commits with
    ``complaint_referred``. Raises as ``get_for``; ``ConflictError``-free: a closed complaint
    is a ``ValidationFailedError``."""
    complaint = _office_complaint(user, complaint_id)
    errors: dict[str, list[str]] = {}
    department = (department or "").strip()
    if db.session.execute(select(Group.code).where(
            Group.code == department, Group.kind == "department")).first() is None:
        errors["department"] = ["请选择被投诉部门"]
    if not (question or "").strip():
        errors["question"] = ["请写明需部门说明的问题"]
    if complaint.decided_at is not None:
        errors["_state"] = ["投诉已答复，不能再转部门"]
    if errors:
        raise ValidationFailedError("the referral is incomplete", errors)

    def step() -> Complaint:
        complaint.department, complaint.question = department, question.strip()[:4000]
        complaint.referred_at, complaint.status = clock.now(), "investigating"
        return complaint

    return _commit(complaint.case_id, step, "complaint_referred", user, OFFICE,
                   lambda c: {"department": department},
                   lambda c: _notify(c, "督查室请部门说明投诉情况", groups=[department]))


def answer_as_department(user: User, complaint_id: int, answer: str) -> Complaint:
    """The department's account (情况说明); commits with ``complaint_department_answered``.
    Raises as ``get_for`` (403 for anyone but the department asked)."""
    complaint, role = get_for(user, complaint_id)
    if role != "department":
        raise PermissionDeniedError("only the department asked answers here")
    errors: dict[str, list[str]] = {}
    if not (answer or "").strip():
        errors["department_answer"] = ["请填写情况说明"]
    if complaint.decided_at is not None:
        errors["_state"] = ["投诉已答复"]
    if errors:
        raise ValidationFailedError("the answer is empty", errors)

    def step() -> Complaint:
        complaint.department_answer = answer.strip()[:4000]
        complaint.answered_by_department = user.username
        complaint.department_answered_at = clock.now()
        return complaint

    return _commit(complaint.case_id, step, "complaint_department_answered", user,
                   complaint.department, lambda c: {"department": c.department},
                   lambda c: _notify(c, "部门已作情况说明", groups=[OFFICE]))


def decide(user: User, complaint_id: int, data: dict[str, Any]) -> Complaint:
    """The office's investigation record, result and answer to the complainant; commits with
    ``complaint_answered``. Raises as ``get_for``, ``ValidationFailedError``."""
    complaint = _office_complaint(user, complaint_id)
    errors: dict[str, list[str]] = {}
    investigation = _text(data, "investigation", errors, "请填写调查核实情况")
    result = _choice(data, "result", RESULTS, errors, "请选择调查结论")
    feedback = _text(data, "feedback", errors, "请填写给投诉人的答复")
    if complaint.decided_at is not None:
        errors["_state"] = ["投诉已答复"]
    if errors:
        raise ValidationFailedError("the answer is incomplete", errors)
    now = clock.now()

    def step() -> Complaint:
        complaint.investigation, complaint.result, complaint.feedback = (
            investigation, result, feedback)
        complaint.decided_by, complaint.decided_at = user.username, now
        complaint.status = "answered"
        return complaint

    return _commit(complaint.case_id, step, "complaint_answered", user, OFFICE,
                   lambda c: {"result": result, "on_time": now <= c.due_at},
                   lambda c: _notify(c, "投诉已答复", kind="result_ready",
                                     users=_complainants(c)))


def rate(user: User, complaint_id: int, satisfaction: str, note: str = "") -> Complaint:
    """The complainant's satisfaction with the answer (the office writes it down for a
    telephone complainant); commits with ``complaint_rated``. Raises as ``get_for``."""
    complaint, role = get_for(user, complaint_id)
    if role not in ("complainant", "office") or (role == "office"
                                                 and complaint.channel == "portal"):
        raise PermissionDeniedError("only the complainant rates the answer")
    errors: dict[str, list[str]] = {}
    if satisfaction not in SATISFACTION:
        errors["satisfaction"] = ["请选择满意程度"]
    if complaint.decided_at is None:
        errors["_state"] = ["尚未答复，不能评价"]
    elif complaint.rated_at is not None:
        errors["_state"] = ["已评价"]
    if errors:
        raise ValidationFailedError("the rating is incomplete", errors)

    def step() -> Complaint:
        complaint.satisfaction, complaint.satisfaction_note = satisfaction, note.strip()[:2000]
        complaint.rated_by, complaint.rated_at = user.username, clock.now()
        complaint.status = "closed"
        return complaint

    return _commit(complaint.case_id, step, "complaint_rated", user,
                   ENTERPRISE if role == "complainant" else OFFICE,
                   lambda c: {"satisfaction": satisfaction})


def upheld_by_department(start: datetime, end: datetime,
                         scope: CountyScope | None = None) -> dict[str, int]:
    """Department → complaints decided 成立 or 部分成立 in [start, end) (for scorecards), of
    ``scope``'s counties (None: every county)."""

    rows = db.session.execute(
        select(Complaint.department, func.count(Complaint.id))
        .where(Complaint.result.in_(UPHELD), Complaint.decided_at >= start,
               Complaint.decided_at < end, Complaint.department != "",
               *([] if scope is None else [scope.condition(Complaint.county)]))
        .group_by(Complaint.department)).all()
    return {d: int(n) for d, n in rows}
