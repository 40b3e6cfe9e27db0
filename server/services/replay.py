"""Replaying a case for an auditor, and re-executing its recorded inputs on the engine.

``replay_case`` rebuilds, from the audit events alone, what the case looked like after each
event: which diagram elements were done or active, the data as it then stood, and who acted.
``reexecute_case`` feeds the recorded inputs (the start data and every task completion, in
order, at the recorded times) through the engine on the exact deployment that ran and checks
that the engine takes the same path: a tampered input leads somewhere else.
"""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.engine import clock
from server.engine.errors import DiagramError, ScriptError, TaskNotReadyError
from server.engine.parser import parse_files
from server.engine.runtime import Engine, Runtime, StepResult
from server.extensions import db
from server.models import Case, User
from server.services import access
from server.services.audit import record_event
from server.services.cases import case_history
from server.services.errors import NotFoundError, PermissionDeniedError
from server.services.store import case_store, with_retries

AUDITOR = "auditor"
PATH_TYPES = ("task_created", "task_completed", "task_cancelled", "case_ended")
#: Events that released a waiting approval item (server/services/staging.py).
RELEASE_TYPES = ("item_released", "item_released_early")


# ---- who may audit ----------------------------------------------------------------------------

def require_auditor(user: User) -> None:
    """Raises ``PermissionDeniedError`` unless the user is an auditor (or an administrator)."""
    if not user.in_group(AUDITOR, "admin"):
        raise PermissionDeniedError("only auditors open the audit views")


def open_case_for_audit(user: User, case_id: str, *, purpose: str = "replay") -> Case:
    """The case, with its opening by an auditor written to its own history; commits.

    Raises ``NotFoundError``, ``PermissionDeniedError``.
    """
    require_auditor(user)
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    if not access.can_see_case(user, case):
        raise PermissionDeniedError("you may not see this case")
    if AUDITOR in user.group_codes:
        with_retries(_record_opening, user, case_id, purpose)
    return db.session.get(Case, case_id)  # type: ignore[return-value]


def _record_opening(user: User, case_id: str, purpose: str) -> None:
    # Under the case lock: the event takes the next case_seq, as a step would.
    with case_store().locked(case_id) as live:
        record_event(live.case, "case_opened_by_auditor", actor=user.username, role=AUDITOR,
                     payload={"purpose": purpose})


# ---- replay -----------------------------------------------------------------------------------

@dataclass
class ReplayStep:
    index: int
    event: dict[str, Any]
    done: list[str]
    active: list[str]
    active_tasks: list[dict[str, str]]
    data: dict[str, Any]


@dataclass
class Replay:
    case_id: str
    reference: str
    title: str
    process_id: str
    deployment: int
    diagram: str | None
    steps: list[ReplayStep] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "reference": self.reference, "title": self.title,
                "process_id": self.process_id, "deployment": self.deployment,
                "diagram": self.diagram,
                "steps": [s.__dict__ for s in self.steps]}


def diagram_of(case: Case) -> str | None:
    """The BPMN file of the case's deployment that defines its process (None if none does)."""
    pattern = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=\"" + re.escape(case.process_id) + "\"")
    for f in case.deployment.files:
        if f.kind == "bpmn" and pattern.search(f.content):
            return f.content
    return None


def replay_case(case: Case) -> Replay:
    """Every step of the case as it was after each event, from the audit events alone."""
    replay = Replay(case.id, case.reference, case.title, case.process_id,
                    case.deployment.number, diagram_of(case))
    data: dict[str, Any] = {}
    open_tasks: dict[str, str] = {}  # task id -> element id, in creation order
    done: list[str] = []
    for i, event in enumerate(case_history(case)):
        record = event.as_record()
        payload = record["payload"] or {}
        if event.type == "case_started":
            data = copy.deepcopy(payload.get("new") or {})
        elif event.type == "task_created" and event.task_id:
            open_tasks[event.task_id] = event.element_id or ""
        elif event.type in {"task_completed", "task_cancelled"} and event.task_id:
            open_tasks.pop(event.task_id, None)
            if event.type == "task_completed":
                data.update(copy.deepcopy(payload.get("new") or {}))
                if event.element_id and event.element_id not in done:
                    done.append(event.element_id)
        active = list(dict.fromkeys(open_tasks.values()))
        replay.steps.append(ReplayStep(
            index=i, event=record, done=[d for d in done if d not in active], active=active,
            active_tasks=[{"task_id": t, "element_id": e} for t, e in open_tasks.items()],
            data=copy.deepcopy(data)))
    return replay


# ---- re-execution -----------------------------------------------------------------------------

class _ThisThreadClock:
    """A frozen clock for the re-executing thread only: live requests keep real time."""

    def __init__(self, fallback: clock.Clock, frozen: clock.FrozenClock) -> None:
        self.fallback, self.frozen, self.owner = fallback, frozen, threading.get_ident()

    def now(self) -> datetime:
        return self.frozen.now() if threading.get_ident() == self.owner else self.fallback.now()


@dataclass
class Reexecution:
    """The recorded path, the path the engine took again, and where they first differ."""

    ok: bool
    recorded: list[tuple[str, str]]
    replayed: list[tuple[str, str]]
    first_difference: int | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "recorded": [list(p) for p in self.recorded],
                "replayed": [list(p) for p in self.replayed],
                "first_difference": self.first_difference, "detail": self.detail}


class _Rerun:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.path: list[tuple[str, str]] = []
        self.created: dict[str, list[str]] = {}  # element id -> replayed task ids in order

    def take(self, result: StepResult) -> None:
        for human in result.human:
            if human.state == "ready":
                self.path.append(("task_created", human.element_id))
                self.created.setdefault(human.element_id, []).append(human.id)
            elif human.state == "cancelled":
                self.path.append(("task_cancelled", human.element_id))
        if result.completed:
            self.path.append(("case_ended", ""))


def reexecute_case(case: Case) -> Reexecution:
    """Run the recorded inputs through the engine again and compare the paths taken."""
    events = case_history(case)
    recorded = [(e.type, e.element_id or "") for e in events if e.type in PATH_TYPES]
    files = {f.name: f.content for f in case.deployment.files if f.kind in {"bpmn", "dmn"}}
    start = next((e for e in events if e.type == "case_started"), None)
    if start is None:
        return Reexecution(False, recorded, [], 0, "the case has no case_started event")
    frozen = clock.FrozenClock(start.at)
    previous = clock.set_clock(_ThisThreadClock(_current(), frozen))
    engine = Engine()
    rerun = _Rerun(engine)
    detail = ""
    try:
        spec_set = parse_files(files)
        runtime, result = engine.start(spec_set, case.process_id,
                                       copy.deepcopy(start.payload.get("new") or {}))
        rerun.take(result)
        nth: dict[str, int] = {}  # element id -> recorded creations so far
        mapping: dict[str, tuple[str, int]] = {}  # recorded task id -> (element, k)
        for e in events:
            if e.type == "task_created" and e.task_id:
                k = nth.get(e.element_id or "", 0)
                nth[e.element_id or ""] = k + 1
                mapping[e.task_id] = (e.element_id or "", k)
                if len(rerun.created.get(e.element_id or "", [])) <= k:
                    # Not created by a completion: a timer fired here in the original run.
                    frozen.set(e.at)
                    rerun.take(engine.advance(runtime))
            elif e.type == "timer_fired":
                frozen.set(e.at)
                rerun.take(engine.advance(runtime))
            elif e.type == "task_completed" and e.task_id:
                # Completing runs due timers as well, exactly as it did in the original step.
                frozen.set(e.at)
                _complete(rerun, runtime, mapping, e.task_id, e.payload.get("new") or {})
            elif e.type in RELEASE_TYPES:
                # An item whose prerequisites were done (or run early) was let go here.
                frozen.set(e.at)
                _release(rerun, runtime, str((e.payload or {}).get("item_code")), {})
            elif e.type == "plan_items_changed" and (e.payload or {}).get("while") == "handling":
                # The plan withdrew a waiting item after the hand-over.
                frozen.set(e.at)
                _release(rerun, runtime, str((e.payload or {}).get("item_code")),
                         {"dropped": True, "reason": (e.payload or {}).get("reason")})
    except (ScriptError, DiagramError, TaskNotReadyError, LookupError) as exc:
        detail = f"the engine stopped: {exc}"
    finally:
        clock.set_clock(previous)
    first = next((i for i, (a, b) in enumerate(zip(recorded, rerun.path, strict=False))
                  if a != b), None)
    if first is None and len(recorded) != len(rerun.path):
        first = min(len(recorded), len(rerun.path))
    ok = first is None and not detail
    if not ok and not detail:
        assert first is not None
        want = recorded[first] if first < len(recorded) else ("(nothing)", "")
        got = rerun.path[first] if first < len(rerun.path) else ("(nothing)", "")
        detail = (f"step {first + 1}: recorded {want[0]} {want[1]}, the engine did "
                  f"{got[0]} {got[1]}")
    return Reexecution(ok, recorded, rerun.path, first, detail or "same path")


def _current() -> clock.Clock:
    return clock._active  # noqa: SLF001  (the clock module offers no getter)


def _complete(rerun: _Rerun, runtime: Runtime, mapping: dict[str, tuple[str, int]],
              recorded_task: str, data: dict[str, Any]) -> None:
    element, k = mapping[recorded_task]  # KeyError: completed a task never created
    created = rerun.created.get(element, [])
    if k >= len(created):
        raise TaskNotReadyError(f"the engine never opened {element} #{k + 1}")
    rerun.path.append(("task_completed", element))
    rerun.take(rerun.engine.complete(runtime, created[k], copy.deepcopy(data)))


def _release(rerun: _Rerun, runtime: Runtime, item_code: str,
             message: dict[str, Any]) -> None:
    from server.services.staging import RELEASE_MESSAGE

    waits = [w for w in rerun.engine.message_waits(runtime, RELEASE_MESSAGE)
             if (w.data.get("item") or {}).get("code") == item_code]
    if not waits:
        raise TaskNotReadyError(f"the engine has no item {item_code} waiting to be released")
    rerun.take(rerun.engine.deliver_message(runtime, waits[0].task_id, RELEASE_MESSAGE,
                                            message))
