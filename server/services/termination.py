"""Terminating a case (终止, seed 004 §五.7): a policy change or the enterprise's own request.

Termination is a BPMN message (``terminate_service``) that the concierge process catches on
its service sub-process: every open task of the service is cancelled there, and the process
goes on to the termination sheet, evaluation and archive. This service only decides who may
send it and records why.
"""

from __future__ import annotations

import json

from server.engine import clock
from server.engine.errors import ScriptError, ScriptLimitError, TaskNotReadyError
from server.models import Case, User
from server.services import access
from server.services.audit import record_event
from server.services.cases import record_step_events
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from server.services.incidents import report_script_limit
from server.services.store import case_store, with_retries

MESSAGE = "terminate_service"
#: Staff groups that may stop a case they can see; the enterprise may stop its own.
STAFF_WHO_MAY_TERMINATE = ("steward", "window", "bureau", "leader")
MAX_REASON = 2000


def terminating_role(user: User, case: Case) -> str | None:
    """The group through which ``user`` may terminate ``case``, or None."""
    groups = user.group_codes
    for code in STAFF_WHO_MAY_TERMINATE:
        if code in groups and access.can_see_case(user, case):
            return code
    if (access.ENTERPRISE in groups and user.enterprise_id is not None
            and user.enterprise_id == case.enterprise_id):
        return access.ENTERPRISE
    return None


def terminate_case(user: User, case_id: str, reason: str) -> Case:
    """Send ``terminate_service`` to a running case and audit ``case_terminated``.

    Raises ``ValidationFailedError`` (no reason), ``NotFoundError``, ``PermissionDeniedError``,
    ``ConflictError`` (the case has ended or is past the point where it can be terminated).
    """
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailedError("a termination needs a reason",
                                    {"reason": [f"1 to {MAX_REASON} characters"]})
    try:
        return with_retries(_terminate_locked, user, case_id, reason)  # type: ignore[no-any-return]
    except ValidationFailedError as exc:
        if isinstance(exc.__cause__, ScriptLimitError):
            report_script_limit(case_id, exc.__cause__)
        raise


def _terminate_locked(user: User, case_id: str, reason: str) -> Case:
    store = case_store()
    with store.locked(case_id) as live:
        case = live.case
        role = terminating_role(user, case)
        if role is None:
            raise PermissionDeniedError("you may not terminate this case")
        if case.status != "running":
            raise ConflictError(f"case {case.reference} has already ended ({case.status})")
        now = clock.now()
        payload = {"reason": reason, "requested_by": user.username, "role": role,
                   "requested_at": now.isoformat()}
        try:
            result = store.engine.send_message(live.runtime, MESSAGE, payload)
        except TaskNotReadyError as exc:
            # Before acceptance or after completion there is no service to terminate.
            raise ConflictError(f"case {case.reference} cannot be terminated now") from exc
        except ScriptError as exc:
            raise ValidationFailedError(f"the process could not continue: {exc}",
                                        {"_process": [str(exc)]}) from exc
        record_event(case, "case_terminated", actor=user.username, role=role,
                     payload={"reason": reason}, at=now)
        store.save(case, result, context=json.loads(case.summary or "{}"))
        record_step_events(case, result, actor=None)
    return case
