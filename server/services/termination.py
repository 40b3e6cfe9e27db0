"""Terminating a case (终止, seed 004 §五(八)): proposed by one, decided by the responsible leader.

004 §五(八) names the reasons: "因重大政策调整等原因无法完成审批" or "项目单位主动提出要求终止".
A termination is *proposed* — by the lead steward's group (项目管家) or the window (专窗) with
one of those reasons and an explanation, or *requested* by the enterprise in its portal — and
*decided* by the case's responsible leader (包保/挂钩联系领导, named on the steward team;
"一个项目、一名领导"). No single staff member stops a major project's service alone.

On approval the service sends the BPMN message ``terminate_service`` that the concierge
process catches on its service sub-process: every open task of the service is cancelled, and
the process goes on to the termination sheet, evaluation and archive.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.engine.errors import ScriptError, ScriptLimitError, TaskNotReadyError
from server.extensions import db
from server.models import Case, TerminationRequest, User, WorkItem
from server.services import access, tenancy
from server.services.audit import record_event
from server.services.case_state import record_step_events
from server.services.cases import get_case
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.incidents import report_script_limit
from server.services.notifications import notify
from server.services.store import case_store, with_retries
from server.services.team_assignment import team_of

MESSAGE = "terminate_service"
#: Staff groups that may propose a termination of a case they can see; the enterprise may
#: request one for its own case.
STAFF_WHO_MAY_PROPOSE = ("steward", "window")
#: 004 §五(八)'s reasons (the termination sheet, 附件8, offers the same).
REASONS = {"policy_change": "因重大政策调整等原因无法完成审批",
           "enterprise_request": "项目单位主动提出要求终止"}
MAX_REASON = 2000


def proposing_role(user: User, case: Case) -> str | None:
    """The group through which ``user`` may propose terminating ``case``, or None."""
    groups = user.group_codes
    for code in STAFF_WHO_MAY_PROPOSE:
        if code in groups and access.can_see_case(user, case):
            return code
    if (access.ENTERPRISE in groups and user.enterprise_id is not None
            and user.enterprise_id == case.enterprise_id):
        return access.ENTERPRISE
    return None


def responsible_leader(case: Case) -> str | None:

    team = team_of(case.id)
    return team.leader if team is not None else None


def pending_request(case_id: str) -> TerminationRequest | None:
    return db.session.execute(
        select(TerminationRequest).where(TerminationRequest.case_id == case_id,
                                         TerminationRequest.state == "proposed")
    ).scalars().first()


def case_requests(case_id: str) -> list[TerminationRequest]:
    return list(db.session.execute(
        select(TerminationRequest).where(TerminationRequest.case_id == case_id)
        .order_by(TerminationRequest.proposed_at)).scalars())


#: Steps after the service sub-process: once one is open there is nothing left to terminate.
AFTER_SERVICE = frozenset({
    "fill_termination_sheet", "sign_termination_sheet", "record_termination_unsigned",
    "evaluate_service", "call_back_and_rectify", "record_evaluation_missing", "return_visit",
    "archive_case"})


def _past_service(case: Case) -> bool:

    return bool(set(db.session.execute(
        select(WorkItem.element_id).where(WorkItem.case_id == case.id,
                                          WorkItem.state == "ready")).scalars())
        & AFTER_SERVICE)


def propose_termination(user: User, case_id: str, reason_code: str, detail: str
                        ) -> TerminationRequest:
    """Propose (staff) or request (enterprise) the termination of a running case; the
    responsible leader is told. Commits.

    Raises ``NotFoundError``, ``PermissionDeniedError`` (not the steward, the window or the
    case's own enterprise), ``ValidationFailedError`` (reason not in 004's list, no
    explanation), ``ConflictError`` (the case has ended, has no responsible leader yet, or a
    proposal already waits for his decision).
    """
    case = get_case(user, case_id)
    role = proposing_role(user, case)
    if role is None:
        raise PermissionDeniedError("you may not propose terminating this case")
    detail = (detail or "").strip()
    errors: dict[str, list[str]] = {}
    if reason_code not in REASONS:
        errors["reason_code"] = ["请选择终止原因（004 §五(八)）：" + "；".join(REASONS.values())]
    if not detail or len(detail) > MAX_REASON:
        errors["detail"] = [f"请说明终止的具体原因（1–{MAX_REASON} 字）"]
    if errors:
        raise ValidationFailedError("a termination needs a reason from the list and a text",
                                    errors)
    if case.status != "running":
        raise ConflictError(f"case {case.reference} has already ended ({case.status})")
    leader = responsible_leader(case)
    if leader is None or _past_service(case):
        # Before acceptance and the team there is no service (and no leader) to stop.
        raise ConflictError(f"case {case.reference} cannot be terminated now")
    if pending_request(case.id) is not None:
        raise ConflictError("a termination already waits for the leader's decision")

    now = clock.now()
    row = TerminationRequest(id=str(uuid.uuid4()), case_id=case.id, reason_code=reason_code,
                             detail=detail, proposed_by=user.username, proposed_role=role,
                             proposed_at=now, state="proposed", decision_note="")
    db.session.add(row)
    record_event(case, "termination_proposed", actor=user.username, role=role,
                 payload={"request_id": row.id, "reason_code": reason_code,
                          "reason": REASONS[reason_code], "detail": detail}, at=now)
    notify(kind="urging", users=[leader], case_id=case.id,
           title=f"待您决定：终止服务申请（{case.title}）",
           body=f"{user.display_name} {'申请' if role == access.ENTERPRISE else '提议'}终止案件 "
                f"{case.reference}。原因：{REASONS[reason_code]}；说明：{detail}。"
                "请在案件页面决定是否终止。",
           dedupe_key=f"termination:{row.id}")
    db.session.commit()
    return row


def decide_termination(user: User, case_id: str, *, approve: bool, note: str) -> Case:
    """The responsible leader approves (the service stops: ``terminate_service``) or declines
    the waiting proposal; audited ``termination_decided`` (and ``case_terminated``). Commits.

    Raises ``NotFoundError`` (no case, no waiting proposal), ``PermissionDeniedError`` (not the
    case's responsible leader), ``ValidationFailedError`` (no note when declining),
    ``ConflictError`` (the case has ended or can no longer be terminated).
    """
    case = get_case(user, case_id)
    if user.username != responsible_leader(case) or "leader" not in user.group_codes:
        raise PermissionDeniedError("only the case's responsible leader decides a termination")
    note = (note or "").strip()
    if len(note) > MAX_REASON or (not approve and not note):
        raise ValidationFailedError("a decision to decline needs a note",
                                    {"note": [f"不同意终止时请说明理由（1–{MAX_REASON} 字）"]})
    try:
        return with_retries(_decide_locked, user, case_id, approve, note)  # type: ignore[no-any-return]
    except ValidationFailedError as exc:
        if isinstance(exc.__cause__, ScriptLimitError):
            report_script_limit(case_id, exc.__cause__)
        raise


def _decide_locked(user: User, case_id: str, approve: bool, note: str) -> Case:

    store = case_store()
    with store.locked(case_id) as live:
        case = live.case
        tenancy.require_in_scope(user, case)
        if not access.can_see_case(user, case):
            raise PermissionDeniedError("you may not see this case")
        leader = responsible_leader(case)
        if leader is None or user.username != leader or "leader" not in user.group_codes:
            raise PermissionDeniedError("only the case's responsible leader decides a termination")
        row = pending_request(case.id)
        if row is None:
            raise NotFoundError("no termination waits for a decision")
        if case.status != "running":
            raise ConflictError(f"case {case.reference} has already ended ({case.status})")
        now = clock.now()
        reason = f"{REASONS.get(row.reason_code, row.reason_code)}：{row.detail}"
        row.state = "approved" if approve else "declined"
        row.decided_by, row.decided_at, row.decision_note = user.username, now, note
        record_event(case, "termination_decided", actor=user.username, role="leader",
                     payload={"request_id": row.id, "approved": approve, "note": note,
                              "proposed_by": row.proposed_by}, at=now)
        if approve:
            payload: dict[str, Any] = {
                "reason": reason, "reason_code": row.reason_code, "detail": row.detail,
                "requested_by": row.proposed_by, "role": row.proposed_role,
                "requested_at": row.proposed_at.isoformat(), "decided_by": user.username,
                "decided_at": now.isoformat()}
            try:
                result = store.engine.send_message(live.runtime, MESSAGE, payload)
            except TaskNotReadyError as exc:
                # Before acceptance or after completion there is no service to terminate.
                raise ConflictError(f"case {case.reference} cannot be terminated now") from exc
            except ScriptError as exc:
                raise ValidationFailedError(f"the process could not continue: {exc}",
                                            {"_process": [str(exc)]}) from exc
            # ``message`` is what the process received: re-execution sends it again.
            record_event(case, "case_terminated", actor=user.username, role="leader",
                         payload={"reason": reason, "reason_code": row.reason_code,
                                  "proposed_by": row.proposed_by, "message": payload}, at=now)
            store.save(case, result, context=json.loads(case.summary or "{}"))
            record_step_events(case, result, actor=None)
        notify(kind="result_ready", users=[row.proposed_by], case_id=case.id,
               title=f"终止申请{'已同意' if approve else '未同意'}：{case.title}",
               body=f"{user.display_name} {'同意' if approve else '不同意'}终止案件 "
                    f"{case.reference}。{note}",
               dedupe_key=f"termination-decided:{row.id}")
    return case


def termination_view(user: User, case: Case) -> dict[str, Any]:
    """The case page's 终止 section: the proposals and decisions so far, whether the user may
    propose one now, and the waiting one when the user is the leader who decides it."""
    running = case.status == "running"
    pending = pending_request(case.id) if running else None
    leader = responsible_leader(case)
    may_propose = (running and pending is None and leader is not None
                   and proposing_role(user, case) is not None and not _past_service(case))
    return {"requests": case_requests(case.id), "reasons": REASONS, "pending": pending,
            "leader": leader, "may_propose": may_propose,
            "may_decide": pending is not None and user.username == leader
            and "leader" in user.group_codes}
