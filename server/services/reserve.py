"""The project reserve (项目储备库): record, move between stages, evaluate, convert into a case.

Seed 001 三(一): 重点招商项目库 … 同步建立好协同推进、动态调整、定期评价机制; 三(二): 对已确定的
重点招商项目，要明确责任人、责任部门和联络员. Every change is audited in its own transaction. The
reserve's events belong to no case (a reserve project may never become one), so they are
written case-less with the project's id in the payload; the conversion's event is also on the
new case (``application_filed_for_enterprise``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import Case, Group, User
from server.models.reserve import STAGES, ReserveEvaluation, ReserveProject, ReserveStageChange
from server.services.audit import record_event
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.filing import CREDIT_CODE, NewEnterprise, file_for_enterprise
from server.services.forms import form_registry
from server.services.tenancy import county_scope

MANAGERS = ("bureau", "bureau_head", "leader", "window")
STAGE_NAMES = {"talks": "洽谈", "signed": "签约", "landed": "落地"}
RATINGS = {"on_track": "推进顺利", "slow": "进展缓慢", "stalled": "停滞"}
FIELDS = ("name", "investor", "credit_code", "industry", "investment_wan", "area", "leader",
          "department", "liaison", "next_step", "next_step_on")


def require_manager(user: User) -> None:
    if not user.in_group(*MANAGERS):
        raise PermissionDeniedError("only the bureau, its head, the leaders and the window "
                                    "keep the project reserve")


def choices(field: str) -> dict[str, str]:
    """The application form's options for ``field`` (industry, area): value → label."""
    form = form_registry().get("application")
    for f in form.fields:
        if f.key == field:
            return dict(f.options)
    return {}


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _check(fields: dict[str, Any]) -> dict[str, Any]:
    """The cleaned fields of a reserve project; raises ``ValidationFailedError`` per field."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in ("name", "investor"):
        out[key] = str(fields.get(key) or "").strip()
        if not out[key] or len(out[key]) > 200:
            errors[key] = ["此项为必填（200字以内） / required, at most 200 characters"]
    out["credit_code"] = str(fields.get("credit_code") or "").strip().upper()
    if out["credit_code"] and not CREDIT_CODE.match(out["credit_code"]):
        errors["credit_code"] = ["统一社会信用代码应为18位 / not a valid credit code"]
    for key, label in (("industry", "行业"), ("area", "乡镇")):
        out[key] = str(fields.get(key) or "").strip()
        known = choices(key)
        if out[key] not in known:
            errors[key] = [f"未知的{label}“{out[key]}”，应为申请表所列之一 / unknown {key}; "
                           f"one of the application form's list"]
    try:
        out["investment_wan"] = float(fields.get("investment_wan") or "")
        if out["investment_wan"] < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["investment_wan"] = ["计划投资应为不小于0的数（万元） / a number ≥ 0 (万元)"]
    for key in ("leader", "liaison"):
        out[key] = str(fields.get(key) or "").strip()
        person = db.session.execute(select(User).where(
            User.username == out[key], User.active)).scalar_one_or_none()
        if person is None or person.in_group("enterprise"):
            errors[key] = ["应为本系统在岗工作人员 / must be an active staff user"]
    out["department"] = str(fields.get("department") or "").strip()
    if not out["department"] or db.session.get(Group, out["department"]) is None:
        errors["department"] = ["没有这个部门 / no such department or group"]
    out["next_step"] = str(fields.get("next_step") or "").strip()
    try:
        out["next_step_on"] = _date(fields.get("next_step_on"))
    except ValueError:
        errors["next_step_on"] = ["日期格式应为 YYYY-MM-DD / a date YYYY-MM-DD"]
    if errors:
        raise ValidationFailedError("the reserve project is not valid", errors)
    return out


def record_project(user: User, fields: dict[str, Any]) -> ReserveProject:
    """Record a project in the reserve at 洽谈; audited ``reserve_project_recorded``."""
    require_manager(user)
    clean = _check(fields)
    now = clock.now()
    # The recording bureau's county keeps it (a prefecture user's: the default county's).
    project = ReserveProject(**clean, county=user.county, stage="talks",
                             created_by=user.username, created_at=now, updated_at=now)
    db.session.add(project)
    db.session.flush()
    record_event(None, "reserve_project_recorded", actor=user.username,
                 payload={"reserve_id": project.id, **_payload(clean)})
    db.session.commit()
    return project


def update_project(user: User, reserve_id: int, fields: dict[str, Any]) -> ReserveProject:
    """Correct a project's facts (动态调整); audited ``reserve_project_updated``."""
    require_manager(user)
    project = get_project(user, reserve_id)
    clean = _check(fields)
    changed = {k: v for k, v in clean.items() if getattr(project, k) != v}
    for key, value in changed.items():
        setattr(project, key, value)
    if changed:
        project.updated_at = clock.now()
        record_event(None, "reserve_project_updated", actor=user.username,
                     payload={"reserve_id": project.id, **_payload(changed)})
    db.session.commit()
    return project


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def get_project(user: User, reserve_id: int) -> ReserveProject:
    require_manager(user)
    project = db.session.get(ReserveProject, reserve_id)
    if project is None or not county_scope(user).covers(project.county):
        # Another county's project is as unknown as a made-up number.
        raise NotFoundError(f"reserve project {reserve_id} does not exist")
    return project


def move_stage(user: User, reserve_id: int, to_stage: str, reason: str) -> ReserveProject:
    """Move a project between 洽谈 and 签约 with a reason; audited ``reserve_project_moved``.

    落地 is reached only by converting the project into a case. Raises
    ``ValidationFailedError`` (unknown or same stage, no reason) and ``ConflictError`` (the
    project is already a case).
    """
    project = get_project(user, reserve_id)
    if project.case_id is not None or project.stage == "landed":
        raise ConflictError("the project has landed as a case; its stage no longer moves")
    errors: dict[str, list[str]] = {}
    if to_stage not in ("talks", "signed") or to_stage == project.stage:
        errors["to_stage"] = ["只能在“洽谈”与“签约”之间调整；“落地”经转为申请完成 / move between "
                              "talks and signed; landing is by converting into a case"]
    if not reason.strip():
        errors["reason"] = ["请填写调整原因 / give the reason"]
    if errors:
        raise ValidationFailedError("the stage change is not valid", errors)
    _move(project, to_stage, reason.strip(), user.username)
    db.session.commit()
    return project


def _move(project: ReserveProject, to_stage: str, reason: str, actor: str) -> None:
    now = clock.now()
    project.changes.append(ReserveStageChange(from_stage=project.stage, to_stage=to_stage,
                                              reason=reason, changed_by=actor, changed_at=now))
    record_event(None, "reserve_project_moved", actor=actor,
                 payload={"reserve_id": project.id, "from": project.stage, "to": to_stage,
                          "reason": reason, "case_id": project.case_id})
    project.stage = to_stage
    project.updated_at = now


def evaluate(user: User, reserve_id: int, *, evaluated_on: str, rating: str,
             note: str) -> ReserveEvaluation:
    """Add a periodic evaluation (定期评价); audited ``reserve_project_evaluated``."""
    project = get_project(user, reserve_id)
    errors: dict[str, list[str]] = {}
    when: date | None = None
    with contextlib.suppress(ValueError):
        when = _date(evaluated_on)
    if when is None:
        errors["evaluated_on"] = ["日期格式应为 YYYY-MM-DD / a date YYYY-MM-DD"]
    if rating not in RATINGS:
        errors["rating"] = [f"应为：{'、'.join(RATINGS.values())} / one of {', '.join(RATINGS)}"]
    if errors:
        raise ValidationFailedError("the evaluation is not valid", errors)
    assert when is not None
    entry = ReserveEvaluation(evaluated_on=when, rating=rating, note=note.strip(),
                              evaluated_by=user.username, evaluated_at=clock.now())
    project.evaluations.append(entry)
    record_event(None, "reserve_project_evaluated", actor=user.username,
                 payload={"reserve_id": project.id, "evaluated_on": when.isoformat(),
                          "rating": rating, "note": note.strip()})
    db.session.commit()
    return entry


def application_data(project: ReserveProject) -> dict[str, Any]:
    """The application's fields the reserve already knows (the filing page prefills them)."""
    data: dict[str, Any] = {"project_name": project.name, "enterprise_name": project.investor,
                            "industry": project.industry, "area": project.area,
                            "investment_wan": project.investment_wan,
                            "investment_agreement_signed": True}
    if project.credit_code:
        data["credit_code"] = project.credit_code
    return data


def convert(user: User, reserve_id: int, data: dict[str, Any], *,
            enterprise_id: int | None = None, new: NewEnterprise | None = None) -> Case:
    """File the signed project as an application for its investor; the project lands.

    The reserve's name, investor, industry, area and investment win over ``data`` (the rest
    of the application: items, summary, location, contact). Audited
    ``reserve_project_converted`` and ``reserve_project_moved`` (签约 → 落地), with the case's
    own ``application_filed_for_enterprise``, in one transaction. Raises ``ConflictError``
    (not 签约, or already a case) and what ``file_for_enterprise`` raises.
    """
    project = get_project(user, reserve_id)
    if project.case_id is not None:
        raise ConflictError("this reserve project is already a case")
    if project.stage != "signed":
        raise ConflictError("only a signed (签约) project is converted into an application")
    merged = {**data, **application_data(project)}
    if new is not None:
        merged.pop("credit_code", None)
    actor = user.username

    def land(case: Case) -> None:
        project.case_id = case.id
        record_event(None, "reserve_project_converted", actor=actor,
                     payload={"reserve_id": project.id, "case_id": case.id,
                              "reference": case.reference})
        _move(project, "landed", f"转为帮办代办申请 {case.reference}", actor)

    return file_for_enterprise(user, merged, enterprise_id=enterprise_id, new=new, also=land)


@dataclass(frozen=True)
class ReserveQuery:
    stage: str = ""
    industry: str = ""
    area: str = ""
    leader: str = ""
    q: str = ""


def list_projects(user: User, query: ReserveQuery) -> list[ReserveProject]:
    """The reserve of ``user``'s counties, newest first, filtered by stage, industry, area,
    leader and a search text."""
    require_manager(user)
    stmt = select(ReserveProject).where(county_scope(user).condition(ReserveProject.county))
    if query.stage in STAGES:
        stmt = stmt.where(ReserveProject.stage == query.stage)
    for key in ("industry", "area", "leader"):
        value = getattr(query, key)
        if value:
            stmt = stmt.where(getattr(ReserveProject, key) == value)
    if query.q.strip():
        like = f"%{query.q.strip()}%"
        stmt = stmt.where(ReserveProject.name.like(like) | ReserveProject.investor.like(like))
    return list(db.session.execute(
        stmt.order_by(ReserveProject.updated_at.desc(), ReserveProject.id.desc())).scalars())


def board(user: User, query: ReserveQuery) -> dict[str, list[ReserveProject]]:
    """The reserve by stage, one column per stage in order."""
    columns: dict[str, list[ReserveProject]] = {stage: [] for stage in STAGES}
    for project in list_projects(user, ReserveQuery(industry=query.industry, area=query.area,
                                                    leader=query.leader, q=query.q)):
        columns[project.stage].append(project)
    return columns


def staff_choices() -> tuple[list[User], list[Group]]:
    """Who may be 责任人/联络员 (active staff) and which groups may be 责任部门."""
    users = [u for u in db.session.execute(
        select(User).where(User.active).order_by(User.username)).scalars()
        if not u.in_group("enterprise")]
    groups = list(db.session.execute(select(Group).order_by(Group.kind, Group.code)).scalars())
    return users, groups
