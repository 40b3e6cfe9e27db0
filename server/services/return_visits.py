"""Periodic return visits (定期回访) to finished projects.

Seed 004 §五(九): "定期对已办结项目进行回访"; §六(二): the office visits enterprises and holds
项目单位座谈会. 004 names no intervals, so the schedule is the county's setting
(``County.return_visit_months``, default 1, 3, 6 and 12 months after the case ends).

When a completed case has ended, the beat sweep (``sweep``) schedules one visit per interval,
assigned to the case's lead steward (牵头代办员). A visit opens as a task ``OPEN_DAYS_BEFORE``
days before its date (the steward is told), shows a light against its date, and the steward
and the responsible leader are alerted when it is overdue. The steward records it: method
(电话 / 实地 / 座谈会), findings and the enterprise's remarks. Everything here happens after
the case's ``case_ended``, so its audit events are listed in ``chain_checks.AFTER_SEAL``.
"""

from __future__ import annotations

import calendar as months
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import Case, County, ReturnVisit, User
from server.rules.lights import item_light
from server.services import access, tenancy
from server.services.audit import record_event
from server.services.calendar import case_county, county_settings, current_calendar, default_county
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.notifications import notify
from server.services.team_assignment import team_of

DEFAULT_MONTHS = (1, 3, 6, 12)
#: A visit opens as a task this many days before its date (本县设置 with the schedule).
OPEN_DAYS_BEFORE = 10
METHODS = {"phone": "电话回访", "onsite": "实地回访", "meeting": "座谈会"}
MAX_TEXT = 4000
EVENTS = ("return_visits_scheduled", "return_visit_opened", "return_visit_recorded")


def schedule_of(county_code: str | None) -> tuple[int, ...]:
    """The county's months after the end at which a case is visited (its setting)."""

    code = county_code or default_county()
    row = db.session.get(County, code) if code else None
    text = (row.return_visit_months if row is not None else "") or ""
    try:
        found = tuple(sorted({int(p) for p in text.replace("，", ",").split(",") if p.strip()}))
    except ValueError:
        found = ()
    return tuple(m for m in found if 0 < m <= 120) or DEFAULT_MONTHS


def add_months(at: datetime, n: int) -> datetime:
    month = at.month - 1 + n
    year, month = at.year + month // 12, month % 12 + 1
    day = min(at.day, months.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def _steward_and_leader(case_id: str) -> tuple[str, str]:

    team = team_of(case_id)
    return (team.steward, team.leader) if team is not None else ("", "")


def schedule_for(case: Case) -> list[ReturnVisit]:
    """Write the case's visits (in the caller's transaction) unless written already."""
    if db.session.execute(select(ReturnVisit.id).where(ReturnVisit.case_id == case.id)
                          ).first() is not None or case.ended_at is None:
        return []
    steward, _ = _steward_and_leader(case.id)
    rows = [ReturnVisit(id=str(uuid.uuid4()), case_id=case.id, months_after=m,
                        due_at=add_months(case.ended_at, m), assignee=steward,
                        state="scheduled", method="", findings="", enterprise_remarks="",
                        visited_on="")
            for m in schedule_of(case.county)]
    db.session.add_all(rows)
    record_event(case, "return_visits_scheduled", actor=None, role="system",
                 payload={"months": [r.months_after for r in rows], "assignee": steward,
                          "dates": [r.due_at.isoformat() for r in rows]})
    return rows


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Schedule the visits of newly completed cases, open those coming due and tell the
    steward, alert the steward and leader of overdue ones; commits. Returns counts."""

    now = now or clock.now()
    counts = {"scheduled": 0, "opened": 0, "overdue": 0}
    waiting = db.session.execute(
        select(Case).where(Case.status == "completed", Case.ended_at.is_not(None),
                           ~select(ReturnVisit.id).where(ReturnVisit.case_id == Case.id)
                           .exists())).scalars().all()
    for ended in waiting:
        counts["scheduled"] += len(schedule_for(ended))
    db.session.flush()
    horizon = now + timedelta(days=OPEN_DAYS_BEFORE)
    for visit in db.session.execute(
            select(ReturnVisit).where(ReturnVisit.state == "scheduled",
                                      ReturnVisit.due_at <= horizon)).scalars().all():
        case = db.session.get(Case, visit.case_id)
        assert case is not None
        visit.state, visit.opened_at = "open", now
        record_event(case, "return_visit_opened", actor=None, role="system",
                     payload={"visit_id": visit.id, "months_after": visit.months_after,
                              "due_at": visit.due_at.isoformat(), "assignee": visit.assignee})
        notify(kind="new_task", users=[visit.assignee], groups=[] if visit.assignee else
               ["steward"], case_id=case.id,
               title=f"定期回访：{case.title}（办结后第{visit.months_after}个月）",
               body=f"请于 {visit.due_at.date().isoformat()} 前回访企业并在案件页面记录"
                    "（电话、实地或座谈会）。", dedupe_key=f"visit:{visit.id}")
        counts["opened"] += 1
    for visit in db.session.execute(
            select(ReturnVisit).where(ReturnVisit.state == "open",
                                      ReturnVisit.due_at < now)).scalars().all():
        case = db.session.get(Case, visit.case_id)
        assert case is not None
        _, leader = _steward_and_leader(case.id)
        counts["overdue"] += len(notify(
            kind="overdue", users=[visit.assignee, leader], case_id=case.id,
            title=f"回访超期：{case.title}（办结后第{visit.months_after}个月）",
            body=f"定期回访应于 {visit.due_at.date().isoformat()} 前完成，尚未记录。",
            dedupe_key=f"visit-overdue:{visit.id}"))
    db.session.commit()
    return counts


def light_of(visit: ReturnVisit, now: datetime | None = None) -> str:
    """green / yellow / red of an open visit against its date, on the case's calendar."""

    case = db.session.get(Case, visit.case_id)
    assert case is not None
    county = case_county(case)
    light = item_light(visit.due_at, now or clock.now(), current_calendar(county=county),
                       warn_working_days=county_settings(county).light_rule.min_days)
    return str(light.code)


def record_visit(user: User, visit_id: str, data: dict[str, Any]) -> ReturnVisit:
    """Record an open visit: method, date, findings, the enterprise's remarks. Commits.

    Raises ``NotFoundError``, ``PermissionDeniedError`` (not the steward it is assigned to,
    nor the window), ``ConflictError`` (not open: not yet due, or recorded already),
    ``ValidationFailedError`` (each field that is wrong, nothing written).
    """
    visit = db.session.get(ReturnVisit, visit_id)
    if visit is None:
        raise NotFoundError(f"return visit {visit_id} does not exist")
    case = db.session.get(Case, visit.case_id)
    assert case is not None
    tenancy.require_in_scope(user, case, "return visit")
    if not access.can_see_case(user, case):
        raise PermissionDeniedError("you may not see this case")
    role = ("steward" if user.username == visit.assignee and "steward" in user.group_codes
            else "window" if not visit.assignee and "window" in user.group_codes else None)
    if role is None:
        raise PermissionDeniedError("this return visit is assigned to the case's lead steward")
    if visit.state != "open":
        raise ConflictError("this return visit is not open" if visit.state == "scheduled"
                            else "this return visit is recorded already")
    method = str(data.get("method") or "")
    findings = str(data.get("findings") or "").strip()
    remarks = str(data.get("enterprise_remarks") or "").strip()
    visited = str(data.get("visited_on") or "").strip()
    errors: dict[str, list[str]] = {}
    if method not in METHODS:
        errors["method"] = ["请选择回访方式：" + "、".join(METHODS.values())]
    if not findings or len(findings) > MAX_TEXT:
        errors["findings"] = [f"请填写回访情况（1–{MAX_TEXT} 字）"]
    if len(remarks) > MAX_TEXT:
        errors["enterprise_remarks"] = [f"不超过 {MAX_TEXT} 字"]
    try:
        day = date.fromisoformat(visited)
        if day > clock.now().date() + timedelta(days=1):
            errors["visited_on"] = ["回访日期不能晚于今天"]
    except ValueError:
        errors["visited_on"] = ["请填写回访日期（年-月-日）"]
    if errors:
        raise ValidationFailedError("the return visit record is incomplete", errors)
    now = clock.now()
    visit.method, visit.findings, visit.enterprise_remarks = method, findings, remarks
    visit.visited_on, visit.state = visited, "done"
    visit.recorded_by, visit.recorded_at = user.username, now
    record_event(case, "return_visit_recorded", actor=user.username, role=role,
                 payload={"visit_id": visit.id, "months_after": visit.months_after,
                          "method": method, "visited_on": visited, "findings": findings,
                          "enterprise_remarks": remarks}, at=now)
    db.session.commit()
    return visit


def visits_view(user: User, case: Case) -> dict[str, Any] | None:
    """The case page's 定期回访 section (None while nothing is scheduled)."""
    rows = list(db.session.execute(select(ReturnVisit).where(ReturnVisit.case_id == case.id)
                                   .order_by(ReturnVisit.due_at)).scalars())
    if not rows:
        return None
    now = clock.now()
    return {"visits": [(v, light_of(v, now) if v.state == "open" else None,
                        v.state == "open" and (
                            (user.username == v.assignee and "steward" in user.group_codes)
                            or (not v.assignee and "window" in user.group_codes)))
                       for v in rows],
            "months": schedule_of(case.county), "methods": METHODS,
            "open_days": OPEN_DAYS_BEFORE}
