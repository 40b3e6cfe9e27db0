"""Items open when they can be worked: the task sheet of an item goes out when its
prerequisites (前置事项) in the case are done, or earlier by the steward's recorded decision.

Each ``department_item`` instance whose ``item.waiting_for`` is not empty waits at
``wait_for_prerequisites`` (a message catch, no work item, no deadline, no light). After every
step that finished an item, :func:`release_ready_items` — under the case lock, in the step's
transaction — delivers ``item_released`` to each waiting instance whose prerequisites are now
all done (the rule in :mod:`server.rules.staging`), audited ``item_released``. The steward may
run an item in parallel or on trust before that (并联 / 容缺, with a reason), audited
``item_released_early``. The item's clock starts later, at 受理 (``start_item_clock``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server.engine.errors import ScriptError, TaskNotReadyError
from server.engine.runtime import Runtime, StepResult
from server.models import Case, User
from server.rules.staging import done_codes, open_prerequisites
from server.services import access
from server.services.audit import record_event
from server.services.case_state import record_step_events
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from server.services.store import case_store, with_retries

RELEASE_MESSAGE = "item_released"
#: The called process each approval item runs in.
ITEM_PROCESS = "department_item"
#: The element an item waits at, and the task after which the enterprise knows its result.
WAITING_ELEMENT = "wait_for_prerequisites"
FINISHING_ELEMENT = "notify_enterprise_of_result"
#: Who may release an item early, and the two modes (并联办理 / 容缺办理).
EARLY_RELEASERS = ("steward", "leader")
EARLY_MODES = {"parallel": "并联办理", "on_trust": "容缺办理"}
#: The steward may also drop a waiting item from the plan (004: 可根据实际情况增加或者减少).
DROP_MODE = "drop"
DECISION_MODES = {**EARLY_MODES, DROP_MODE: "从服务方案撤销"}
MAX_REASON = 2000


@dataclass(frozen=True)
class WaitingItem:
    """An item of a case whose task sheet has not gone out yet."""

    code: str
    name: str
    department: str
    waiting_for: list[str]
    open: list[str]
    task_id: str


def waiting_items(runtime: Runtime) -> list[WaitingItem]:
    """The items of a live case that wait for prerequisites, with those still open."""
    found = []
    for wait in case_store().engine.message_waits(runtime, RELEASE_MESSAGE):
        item = wait.data.get("item") or {}
        done = done_codes(wait.caller_data.get("item_results") or [])
        found.append(WaitingItem(str(item.get("code")), str(item.get("name") or ""),
                                 str(item.get("department") or ""),
                                 list(item.get("waiting_for") or []),
                                 open_prerequisites(item, done), wait.task_id))
    return found


def release_ready_items(case: Case, runtime: Runtime, result: StepResult, *,
                        actor: str | None) -> None:
    """Release every waiting item whose prerequisites ``result`` finished; same transaction.

    Only a step inside an item's own process can end it and make another one ready (an item
    accepted on trust, 容缺, ends when its missing materials arrive, not when its result is
    told), so the other steps of a case cost nothing.
    """
    if not any(h.state == "completed" and h.process_id == ITEM_PROCESS for h in result.human):
        return
    _release_ready(case, runtime, actor=actor)


def _release_ready(case: Case, runtime: Runtime, *, actor: str | None) -> None:
    for waiting in waiting_items(runtime):
        if waiting.open:
            continue
        _release(case, runtime, waiting, actor=actor, event="item_released",
                 payload={"reason": "prerequisites_done", "prerequisites": waiting.waiting_for})


def _release(case: Case, runtime: Runtime, waiting: WaitingItem, *, actor: str | None,
             event: str, payload: dict[str, Any], role: str | None = None,
             message: dict[str, Any] | None = None) -> None:

    store = case_store()
    try:
        step = store.engine.deliver_message(runtime, waiting.task_id, RELEASE_MESSAGE,
                                            payload if message is None else message)
    except ScriptError as exc:
        raise ValidationFailedError(f"the process could not continue: {exc}",
                                    {"_process": [str(exc)]}) from exc
    record_event(case, event, actor=actor, role=role, task_id=waiting.task_id,
                 element_id=WAITING_ELEMENT, element_name="等待前置事项办结",
                 payload={"item_code": waiting.code, "item_name": waiting.name,
                          "department": waiting.department, **payload})
    store.save(case, step, context=json.loads(case.summary or "{}"))
    record_step_events(case, step, actor=None)


def early_release_role(user: User, case: Case) -> str | None:
    """The group through which ``user`` may release an item early, or None."""
    for code in EARLY_RELEASERS:
        if code in user.group_codes and access.can_see_case(user, case):
            return code
    return None


def release_item_early(user: User, case_id: str, item_code: str, *, mode: str,
                       reason: str) -> Case:
    """Send an item's task sheet before its prerequisites are done (并联 / 容缺), or drop the
    waiting item from the plan (mode ``drop``: audited ``plan_items_changed``; the items that
    waited for it go on without it). Audited; all in one transaction.

    Raises ``ValidationFailedError`` (no reason, unknown mode), ``NotFoundError``,
    ``PermissionDeniedError``, ``ConflictError`` (the item is not waiting).
    """
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason or len(reason) > MAX_REASON:
        errors["reason"] = [f"请填写理由（1至{MAX_REASON}字）"]
    if mode not in DECISION_MODES:
        errors["mode"] = ["请选择并联办理、容缺办理或从服务方案撤销"]
    if errors:
        raise ValidationFailedError("an early release needs a mode and a reason", errors)
    return with_retries(_release_early_locked, user, case_id, item_code, mode, reason)  # type: ignore[no-any-return]


def _release_early_locked(user: User, case_id: str, item_code: str, mode: str,
                          reason: str) -> Case:
    store = case_store()
    with store.locked(case_id) as live:
        case = live.case
        role = early_release_role(user, case)
        if role is None:
            raise PermissionDeniedError("only the steward or the leader may release an item early")
        if case.status != "running":
            raise ConflictError(f"case {case.reference} has ended ({case.status})")
        match = [w for w in waiting_items(live.runtime) if w.code == item_code]
        if not match:
            raise ConflictError(f"item {item_code} is not waiting for prerequisites")
        try:
            if mode == DROP_MODE:
                _release(case, live.runtime, match[0], actor=user.username, role=role,
                         event="plan_items_changed",
                         payload={"added": [], "reason": reason, "while": "handling",
                                  "dropped": [{"code": match[0].code, "name": match[0].name}]},
                         message={"dropped": True, "reason": reason})
                # Whoever waited only for the dropped item goes on now.
                _release_ready(case, live.runtime, actor=user.username)
            else:
                _release(case, live.runtime, match[0], actor=user.username, role=role,
                         event="item_released_early",
                         payload={"reason": reason, "mode": mode,
                                  "mode_name": EARLY_MODES[mode],
                                  "prerequisites": match[0].waiting_for,
                                  "open_prerequisites": match[0].open})
        except TaskNotReadyError as exc:
            raise ConflictError(str(exc)) from exc
    return case
