"""州-level approval items handed up from a county case to a prefecture department (issue 21).

An item the catalog marks ``prefecture`` is handed up by the county department handling it
(:func:`hand_up`): its county clock stops (行政许可法 Art. 43: the lower authority examines within
its period and sends its opinion with all the materials up; the applicant is not asked for them
again), the item shows 上级审批中, and the prefecture department (``pref_<department>``, users of
the prefecture) finds it in its list of handed-up items with the case's materials. There it is
accepted (:func:`accept`, 受理: the prefecture's own period of the item's statutory days starts,
lit by the same light rule) and decided (:func:`decide`: approved with its 批文号, or refused with
the reason). The decision ends the county's referral pause at once: the county clock runs
again and the county department sees the outcome on its item.

Why rows and not a second engine instance: the prefecture's part is two steps in a line (受理 →
决定) with no branching, and a second process instance would be a second case that every case
list, dashboard count, report and archive seal would have to learn to leave out. The state
lives in ``handups``; every change is audited on the county case's chain in the same
transaction under its lock (``item_referred_upward`` with the hand-up, ``handup_received``,
``handup_decided``, ``item_returned_from_referral`` with the decision), so the case timeline and
the hand-up's history are one record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import AuditEvent, Case, Handup, User, WorkItem
from server.rules.lights import Light, LightVerdict, explain_light, time_left
from server.rules.prefecture import prefecture_department_name, prefecture_group
from server.rules.workdays import Deadline
from server.services import access, clock_pauses, tenancy
from server.services.audit import record_event
from server.services.calendar import case_county, county_settings, current_calendar, item_schedule
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.notifications import notify
from server.services.store import case_store, with_retries

PREFECTURE = "prefecture"
OPEN = ("sent", "accepted")
STATES = {"sent": "待受理", "accepted": "已受理，审查中", "approved": "准予许可",
          "refused": "不予许可"}
#: The events of a hand-up, on the county case's chain.
EVENTS = frozenset({"item_referred_upward", "handup_received", "handup_decided",
                    "item_returned_from_referral"})


@dataclass(frozen=True)
class Progress:
    """What both sides see of a hand-up: its state, and once accepted its deadline and light."""

    state: str
    state_zh: str
    deadline: Deadline | None
    verdict: LightVerdict | None
    limit_days: int
    limit_kind: str


# ---- reading ---------------------------------------------------------------------------------
def _acts_for(user: User, handup: Handup) -> bool:
    """The prefecture department the item was handed to (a user of the prefecture)."""
    return user.county is None and handup.prefecture_group in user.group_codes


def get_handup(user: User, handup_id: int) -> Handup:
    """A hand-up ``user`` may read: its prefecture department's, or a reader of its county case.
    Raises NotFoundError (also for another county's) or PermissionDeniedError."""
    handup = db.session.get(Handup, handup_id)
    if handup is None or not tenancy.in_scope(user, handup.case):
        raise NotFoundError(f"hand-up {handup_id} does not exist")
    if _acts_for(user, handup):
        return handup
    has_work = db.session.execute(select(WorkItem.id).where(
        WorkItem.case_id == handup.case_id,
        (WorkItem.completed_by == user.username) | (WorkItem.claimed_by == user.username)
        | WorkItem.candidate_groups.in_(sorted(user.group_codes))).limit(1)).first()
    if not access.can_see_case(user, handup.case, has_work_in_case=has_work is not None):
        raise PermissionDeniedError("you may not see this hand-up")
    return handup


def handed_up_to(user: User, case_id: str) -> bool:
    """True when a prefecture department ``user`` belongs to holds a hand-up of the case: it
    may read that case's pages and materials, and nothing else of the county."""
    groups = sorted(g for g in user.group_codes if g.startswith("pref_"))
    if user.county is not None or not groups:
        return False
    return db.session.execute(select(Handup.id).where(
        Handup.case_id == case_id, Handup.prefecture_group.in_(groups)).limit(1)).first() \
        is not None


def prefecture_list(user: User, *, include_done: bool = True) -> list[Handup]:
    """The hand-ups of ``user``'s prefecture departments, open first (by deadline), then the
    decided ones, newest first; a county user gets those of the own county's cases."""
    groups = sorted(g for g in user.group_codes if g.startswith("pref_"))
    scope = tenancy.county_scope(user)
    stmt = select(Handup).join(Case, Case.id == Handup.case_id).where(scope.case_condition())
    if user.county is None:
        stmt = stmt.where(Handup.prefecture_group.in_(groups))
    elif not (user.group_codes & access.STAFF_READERS):
        return []
    if not include_done:
        stmt = stmt.where(Handup.state.in_(OPEN))
    order = sql_case((Handup.state.in_(OPEN), 0), else_=1)
    return list(db.session.execute(stmt.order_by(
        order, Handup.due_at.is_(None), Handup.due_at, Handup.sent_at.desc())).scalars())


def handup_of_task(task_id: str) -> Handup | None:
    """The newest hand-up of a county 办理 task (for its page), or None."""
    return db.session.execute(select(Handup).where(Handup.county_task_id == task_id)
                              .order_by(Handup.id.desc()).limit(1)).scalar_one_or_none()


def history(handup: Handup) -> list[AuditEvent]:
    """The hand-up's events on its county case's chain, in order."""
    events = db.session.execute(select(AuditEvent).where(
        AuditEvent.case_id == handup.case_id, AuditEvent.type.in_(sorted(EVENTS)))
        .order_by(AuditEvent.case_seq)).scalars()
    return [e for e in events if (e.payload or {}).get("handup_id") == handup.id]


def county_item_open(handup: Handup) -> bool:
    """False once the county's 办理 task is closed (the case terminated or ended)."""
    task = db.session.get(WorkItem, handup.county_task_id)
    return handup.case.status == "running" and task is not None and task.state == "ready"


def _item_facts(handup: Handup) -> dict[str, Any]:
    return {"promised_days": handup.limit_days, "limit_kind": handup.limit_kind}


def progress(handup: Handup, now: datetime | None = None) -> Progress:
    """The prefecture's progress: counted from its 受理 on the prefecture's calendar (the 州's
    holidays are in each of its counties' calendars: the county case's is used)."""
    now = now or clock.now()
    deadline: Deadline | None = None
    verdict: LightVerdict | None = None
    if handup.accepted_at is not None:
        county = case_county(handup.case)
        calendar, settings = current_calendar(county=county), county_settings(county)
        schedule = item_schedule(_item_facts(handup), {
            "received_at": handup.sent_at.isoformat(),
            "started_at": handup.accepted_at.isoformat(), "pauses": []},
            now, calendar=calendar, settings=settings)
        deadline = schedule.deadline
        if handup.open:
            verdict = explain_light(deadline, now, calendar, rule=settings.light_rule,
                                    limit_days=schedule.limit_days,
                                    limit_kind=schedule.limit_kind)
    state_zh = STATES.get(handup.state, handup.state)
    if handup.open and not county_item_open(handup):
        # Terminated while with the prefecture (004 §五(八)): open work ends with the case.
        state_zh, verdict = "县级案件已结束，无需决定", None
    return Progress(handup.state, state_zh, deadline, verdict, handup.limit_days,
                    handup.limit_kind)


# ---- the county hands up -----------------------------------------------------------------------
def hand_up(user: User, task_id: str, *, note: str) -> Handup:
    """Hand a 州-level item of an open 办理 task up to the prefecture department of its line.

    Raises NotFoundError, PermissionDeniedError (not the handling department), ConflictError
    (the clock already stopped, the task closed) and ValidationFailedError (not a 州-level item,
    no opinion).
    """
    clock_pauses.require_handling(user, task_id)
    note = (note or "").strip()
    if not note:
        raise ValidationFailedError("say what the county examined (初审意见)",
                                    {"note": ["required"]})
    item = clock_pauses.item_of(task_id)
    if item is None:
        raise NotFoundError(f"task {task_id} does not exist")
    if str(item.get("level") or "county") != PREFECTURE:
        raise ValidationFailedError("only an item the catalog decides at 州（市）level is handed "
                                    "up to a prefecture department", {"level": [
                                        str(item.get("level") or "county")]})
    earlier = handup_of_task(task_id)
    if earlier is not None:
        raise ConflictError(f"this item was already handed up ({STATES[earlier.state]}); the "
                            "prefecture's decision stands")
    department = str(item.get("department") or "")
    group = prefecture_group(department)
    name, _ = prefecture_department_name(department)
    made: list[Handup] = []

    def beside(case: Case, engine_item: dict[str, Any], now: datetime) -> dict[str, Any]:
        days = int(engine_item.get("statutory_days") or engine_item.get("promised_days") or 0)
        row = Handup(case_id=case.id, county_task_id=task_id,
                     item_code=str(engine_item.get("code") or ""),
                     item_name=str(engine_item.get("name") or ""),
                     county_department=department, prefecture_group=group, limit_days=days,
                     limit_kind=str(engine_item.get("limit_kind") or "working"), note=note,
                     state="sent", sent_by=user.username, sent_at=now, approval_number="",
                     decision_reason="")
        db.session.add(row)
        db.session.flush()
        made.append(row)
        notify(kind="new_task", groups=[group], case_id=case.id,
               title=f"州级交办：{row.item_name}",
               body=f"{case.title}（{case.reference}）的{row.item_name}由县级部门初审后交"
                    f"{name}审批：{note}", dedupe_key=f"handup:{row.id}:sent")
        return {"handup_id": row.id, "to_group": group, "to_name": name, "note": note}

    clock_pauses.refer_upward(user, task_id, level=PREFECTURE, reason=f"交{name}审批：{note}",
                              beside=beside)
    return made[0]


# ---- the prefecture department ------------------------------------------------------------------
def require_department(user: User, handup_id: int) -> Handup:
    """The hand-up when ``user`` is of the prefecture department it was handed to; raises as
    :func:`get_handup` and PermissionDeniedError."""
    handup = get_handup(user, handup_id)
    if not _acts_for(user, handup):
        raise PermissionDeniedError("only the prefecture department it was handed to may act")
    return handup


def accept(user: User, handup_id: int) -> Handup:
    """受理: the prefecture department accepts the handed-up item; its own period starts.
    Audited ``handup_received`` on the county case. Raises as :func:`get_handup`,
    PermissionDeniedError, ConflictError (already accepted or decided)."""
    handup = require_department(user, handup_id)

    def locked() -> Handup:
        with case_store().locked(handup.case_id) as live:
            row = db.session.get(Handup, handup_id)
            if row is None or row.state != "sent":
                raise ConflictError("this hand-up is already accepted or decided")
            if not county_item_open(row):
                raise ConflictError("the county case has ended; nothing is left to decide")
            now = clock.now()
            row.state, row.accepted_by, row.accepted_at = "accepted", user.username, now
            seen = progress(row, now)
            row.due_at = seen.deadline.at if seen.deadline is not None else None
            record_event(live.case, "handup_received", actor=user.username,
                         role=row.prefecture_group, task_id=row.county_task_id, at=now,
                         payload={"handup_id": row.id, "item_code": row.item_code,
                                  "item_name": row.item_name, "to_group": row.prefecture_group,
                                  "accepted_at": now.isoformat(),
                                  "due_at": row.due_at.isoformat() if row.due_at else None,
                                  "limit_days": row.limit_days, "limit_kind": row.limit_kind})
            return row

    return with_retries(locked)  # type: ignore[no-any-return]


#: The shipped 办理 form's fields (forms/item_handling.form) the prefecture's decision fills in
#: for the county department, as a draft it reviews and submits; a county's own form with other
#: fields simply shows them empty (unknown keys are not shown).
PREFILL = ("item_outcome", "handling_opinion", "document_no", "reported_upward")


def _prefill_county_form(row: Handup, approved: bool, outcome: str) -> None:
    task = db.session.get(WorkItem, row.county_task_id)
    if task is None or task.draft:
        return  # the department's own draft stays as it left it
    values = dict(zip(PREFILL, ("approved" if approved else "not_approved", outcome,
                                row.approval_number, True), strict=True))
    task.draft = json.dumps(values, ensure_ascii=False)


def decide(user: User, handup_id: int, *, decision: str, approval_number: str,
           reason: str) -> Handup:
    """The prefecture department's decision; the county's referral pause ends with it in the
    same transaction (``handup_decided`` then ``item_returned_from_referral``) and the county
    clock runs again. Raises as :func:`accept`, ValidationFailedError (an approval without its
    批文号, a refusal without its reason), ConflictError (not accepted yet, the county task
    closed)."""
    handup = require_department(user, handup_id)
    if decision not in {"approve", "refuse"}:
        raise ValidationFailedError("choose 准予许可 or 不予许可", {"decision": ["required"]})
    approved = decision == "approve"
    approval_number, reason = (approval_number or "").strip(), (reason or "").strip()
    if approved and not approval_number:
        raise ValidationFailedError("an approval needs its number (批文号)",
                                    {"approval_number": ["required"]})
    if not approved and not reason:
        raise ValidationFailedError(
            "a refusal needs its reason (不予许可应当说明理由，行政许可法第三十八条)",
            {"reason": ["required"]})
    if handup.state != "accepted":
        raise ConflictError("accept the item first (受理), or it is already decided")
    name, _ = prefecture_department_name(handup.county_department)
    outcome = name + (f"准予许可，批文号 {approval_number}" if approved else f"不予许可：{reason}")

    def beside(case: Case, item: dict[str, Any], now: datetime) -> dict[str, Any]:
        row = db.session.get(Handup, handup_id)
        if row is None or row.state != "accepted":
            raise ConflictError("this hand-up is already decided")
        row.state = "approved" if approved else "refused"
        row.decided_by, row.decided_at = user.username, now
        row.approval_number, row.decision_reason = approval_number, reason
        facts = {"handup_id": row.id, "decision": row.state,
                 "approval_number": approval_number, "decision_reason": reason}
        record_event(case, "handup_decided", actor=user.username, role=row.prefecture_group,
                     task_id=row.county_task_id, at=now,
                     payload={**facts, "item_code": row.item_code, "item_name": row.item_name,
                              "due_at": row.due_at.isoformat() if row.due_at else None,
                              "on_time": row.due_at is None or now <= row.due_at})
        _prefill_county_form(row, approved, outcome)
        notify(kind="result_ready", groups=[row.county_department], case_id=case.id,
               task_id=row.county_task_id, title=f"州级办结：{row.item_name}",
               body=f"{case.title}（{case.reference}）：{outcome}。本县计时已恢复。",
               dedupe_key=f"handup:{row.id}:decided")
        return facts

    clock_pauses.return_from_referral(user, handup.county_task_id, outcome=outcome,
                                      beside=beside)
    db.session.refresh(handup)
    return handup


# ---- the prefecture's own clock tells people ------------------------------------------------
def remind_due(now: datetime | None = None) -> dict[str, int]:
    """Warn and alert on the prefecture's accepted hand-ups as the county's items are (the
    due-date sweep, ``services.timers.sweep_deadlines``, calls it in its transaction): yellow
    warns the prefecture department (到期预警) once; red alerts it and the county department
    that handed the item up (超期警示) once; each further working day overdue urges the
    prefecture department (催办). Returns the yellow and red hand-ups and the new notices."""
    now = now or clock.now()
    counts = {"yellow": 0, "red": 0, "notices": 0}
    rows = db.session.execute(select(Handup).where(Handup.state == "accepted")).scalars()
    for row in rows:
        if not county_item_open(row):
            continue
        seen = progress(row, now)
        if seen.verdict is None or seen.deadline is None or seen.verdict.light is Light.GREEN:
            continue
        light = seen.verdict.light
        counts[light.code] += 1
        where = f"（{row.case.title}，{row.case.reference}，州级交办）"
        due_text = seen.deadline.at.isoformat(timespec="minutes")
        if light is Light.YELLOW:
            counts["notices"] += len(notify(
                kind="warning", title=f"到期预警：{row.item_name}{where}",
                body=f"州级审批“{row.item_name}”将于 {due_text} 到期。",
                groups=[row.prefecture_group], case_id=row.case_id,
                dedupe_key=f"handup_warning:{row.id}"))
            continue
        counts["notices"] += len(notify(
            kind="overdue", title=f"超期警示：{row.item_name}{where}",
            body=f"州级审批“{row.item_name}”已于 {due_text} 到期，尚未决定。",
            groups=[row.prefecture_group, row.county_department], case_id=row.case_id,
            dedupe_key=f"handup_overdue:{row.id}"))
        calendar = current_calendar(county=case_county(row.case))
        days_over = -time_left(seen.deadline.at, now, calendar).working_days
        if days_over >= 1:
            counts["notices"] += len(notify(
                kind="urging", title=f"催办：{row.item_name}已超期{days_over}个工作日{where}",
                body=f"请尽快决定“{row.item_name}”。", groups=[row.prefecture_group],
                case_id=row.case_id, dedupe_key=f"handup_urging:{row.id}:{days_over}"))
    return counts
