"""Replaying a case for an auditor, and re-executing its recorded inputs on the engine.

``replay_case`` rebuilds, from the audit events alone, what the case looked like after each
event: which diagram elements were done or active, the data as it then stood, and who acted.
``reexecute_case`` feeds the recorded inputs (the start data, every task completion, the
termination message, timers that fired and migrations, in order, at the recorded times, each
segment on the deployment that ran it) through the engine and checks that it takes the same
path and ends with the data, status and summary that are stored: a tampered input leads
somewhere else, and a stored state changed behind the history's back no longer matches.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.engine.errors import DiagramError, ScriptError, TaskNotReadyError
from server.engine.parser import SpecSet, parse_files
from server.engine.runtime import Engine, Runtime, StepResult
from server.extensions import db
from server.models import Case, Deployment, EngineTask, User
from server.models.audit import TASK_CREATED, TASKS_CREATED, opened_tasks
from server.rules.clock_law import REFERRAL, SUPPLEMENT
from server.services import access, tenancy
from server.services.audit import record_event
from server.services.calendar import case_county
from server.services.case_state import summary_of
from server.services.cases import case_history
from server.services.clock_pauses import (
    OVERDUE_TIMER,
    WARNING_TIMER,
    _paused_working_days,  # noqa: PLC2701 - the same count the action wrote
)
from server.services.errors import NotFoundError, PermissionDeniedError
from server.services.staging import RELEASE_MESSAGE
from server.services.store import case_store, with_retries
from server.services.termination import MESSAGE as TERMINATION_MESSAGE

AUDITOR = "auditor"
PATH_TYPES = (TASK_CREATED, "task_completed", "task_cancelled", "case_ended")
#: Events that released a waiting approval item (server/services/staging.py).
RELEASE_TYPES = ("item_released", "item_released_early")


# ---- who may audit ----------------------------------------------------------------------------

def require_auditor(user: User) -> None:
    """Raises ``PermissionDeniedError`` unless the user is an auditor (or an administrator)."""
    if not user.in_group(AUDITOR, "admin"):
        raise PermissionDeniedError("only auditors open the audit views")


def cases_to_audit(user: User, q: str = "", *, limit: int, offset: int = 0) -> list[Case]:
    """The cases of ``user``'s counties, newest first, found by reference or title; raises
    ``PermissionDeniedError`` for anyone but auditors and administrators."""
    require_auditor(user)
    query = (select(Case).where(tenancy.county_scope(user).case_condition())
             .order_by(Case.started_at.desc()))
    if q:
        query = query.where(Case.reference.contains(q) | Case.title.contains(q))
    return list(db.session.execute(query.limit(limit).offset(offset)).scalars())


def open_case_for_audit(user: User, case_id: str, *, purpose: str = "replay") -> Case:
    """The case, with its opening by an auditor written to its own history; commits.

    Raises ``NotFoundError``, ``PermissionDeniedError``.
    """
    require_auditor(user)
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    tenancy.require_in_scope(user, case)
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
        elif opened := opened_tasks(event.type, event.task_id, payload):
            # One step opening several tasks of one element is one event: one replay step.
            for task_id, _ in opened:
                open_tasks[task_id] = event.element_id or ""
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

@dataclass
class Reexecution:
    """The recorded path, the path the engine took again, where they first differ, and
    whether the stored state is the state the re-execution ends in."""

    ok: bool
    recorded: list[tuple[str, str]]
    replayed: list[tuple[str, str]]
    first_difference: int | None
    detail: str
    data_differences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "recorded": [list(p) for p in self.recorded],
                "replayed": [list(p) for p in self.replayed],
                "first_difference": self.first_difference, "detail": self.detail,
                "data_differences": self.data_differences}


class _Rerun:
    """The engine run again: the path it takes, and its rows as the store would hold them
    (a migration restores the case from them on the next version, as it did live)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.path: list[tuple[str, str]] = []
        self.created: dict[str, list[str]] = {}  # element id -> replayed task ids in order
        self.envelope = "{}"
        self.rows: dict[str, tuple[str, str]] = {}  # row id -> (workflow key, body)
        self.completed = False
        self.data: dict[str, Any] = {}

    def take(self, result: StepResult) -> None:
        for human in result.human:
            if human.state == "ready":
                self.path.append(("task_created", human.element_id))
                self.created.setdefault(human.element_id, []).append(human.id)
            elif human.state == "cancelled":
                self.path.append(("task_cancelled", human.element_id))
        if result.completed and not self.completed:
            self.path.append(("case_ended", ""))
        self.completed = result.completed
        self.data = result.data
        self.envelope = result.envelope
        gone = set(result.deleted_workflows)
        for row_id in result.deletes:
            self.rows.pop(row_id, None)
        self.rows = {k: v for k, v in self.rows.items() if v[0] not in gone}
        for row_id, wf_key, body in result.upserts:
            self.rows[row_id] = (wf_key, body)

    def stored_rows(self) -> list[tuple[str, str, str]]:
        return [(k, wf, body) for k, (wf, body) in self.rows.items()]


def recorded_path(events: list[Any]) -> list[tuple[str, str]]:
    """The path the history records: one ``task_created`` per task opened (a fan-out's event
    lists several), each completion and cancellation, the end."""
    path: list[tuple[str, str]] = []
    for e in events:
        if e.type == TASKS_CREATED:
            path += [(TASK_CREATED, e.element_id or "")] * len(
                opened_tasks(e.type, e.task_id, e.payload))
        elif e.type in PATH_TYPES:
            path.append((e.type, e.element_id or ""))
    return path


def _deployment(number: int) -> Deployment:
    found = db.session.execute(select(Deployment).where(Deployment.number == number)
                               ).scalar_one_or_none()
    if found is None:
        raise LookupError(f"deployment version {number} is missing")
    return found


def _spec_set(deployment: Deployment) -> SpecSet:
    return parse_files({f.name: f.content for f in deployment.files if f.kind in {"bpmn", "dmn"}})


def reexecute_case(case: Case) -> Reexecution:
    """Run the recorded inputs through the engine again and compare the paths and the data.

    Inputs: the start data, every completion, termination message, timer that fired or was
    moved, and migration, each
    at its recorded time (under a clock of this context only: other requests keep real time),
    each segment on the deployment that ran it. Then the data the engine ends with, and the
    case's status, are compared with what is stored.
    """
    events = case_history(case)
    recorded = recorded_path(events)
    start = next((e for e in events if e.type == "case_started"), None)
    if start is None:
        return Reexecution(False, recorded, [], 0, "the case has no case_started event")
    migrations = [e for e in events if e.type == "case_migrated"]
    first_version = (int(migrations[0].payload["from_deployment"]) if migrations
                     else case.deployment.number)
    frozen = clock.FrozenClock(start.at)
    engine = Engine()
    rerun = _Rerun(engine)
    detail = ""
    runtime: Runtime | None = None
    with clock.using_clock(frozen):
        try:
            runtime, result = engine.start(_spec_set(_deployment(first_version)), case.process_id,
                                           copy.deepcopy(start.payload.get("new") or {}))
            rerun.take(result)
            runtime = _feed(rerun, runtime, events, frozen, case)
        except (ScriptError, DiagramError, TaskNotReadyError, LookupError, KeyError) as exc:
            detail = f"the engine stopped: {exc}"
    first = next((i for i, (a, b) in enumerate(zip(recorded, rerun.path, strict=False))
                  if a != b), None)
    if first is None and len(recorded) != len(rerun.path):
        first = min(len(recorded), len(rerun.path))
    if first is not None and not detail:
        want = recorded[first] if first < len(recorded) else ("(nothing)", "")
        got = rerun.path[first] if first < len(rerun.path) else ("(nothing)", "")
        detail = (f"step {first + 1}: recorded {want[0]} {want[1]}, the engine did "
                  f"{got[0]} {got[1]}")
    differences = [] if detail else _compare_state(case, rerun)
    if differences and not detail:
        detail = "the stored state is not what the recorded inputs lead to: " + "; ".join(
            differences[:5])
    ok = not detail
    return Reexecution(ok, recorded, rerun.path, first, detail or "same path and same data",
                       differences)


#: A department's action on an item's clock (行政许可法 Art. 45 procedures, 公示, referral
#: upward): it writes the item's clock into the handling task; its timers move by the
#: ``timer_rescheduled`` events recorded just before it.
CLOCK_ACTIONS = frozenset({"clock_paused", "clock_resumed", "item_referred_upward",
                           "item_returned_from_referral"})


def _feed(rerun: _Rerun, runtime: Runtime, events: list[Any], frozen: clock.FrozenClock,
          case: Case) -> Runtime:
    """Feed the recorded inputs after the start; returns the runtime (a new one after a
    migration)."""
    engine = rerun.engine
    nth: dict[str, int] = {}  # element id -> recorded creations so far
    mapping: dict[str, tuple[str, int]] = {}  # recorded task id -> (element, k)
    for e in events:
        if opened := opened_tasks(e.type, e.task_id, e.payload):
            for task_id, _ in opened:  # each task of a fan-out as if recorded on its own
                k = nth.get(e.element_id or "", 0)
                nth[e.element_id or ""] = k + 1
                mapping[task_id] = (e.element_id or "", k)
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
        elif e.type == "case_terminated":
            # The termination message, with the payload the termination service sent.
            frozen.set(e.at)
            payload = {"reason": (e.payload or {}).get("reason"), "requested_by": e.actor,
                       "role": e.role, "requested_at": e.at.isoformat()}
            # Since termination is decided by the leader, the event keeps the message sent.
            payload = (e.payload or {}).get("message") or payload
            rerun.take(engine.send_message(runtime, TERMINATION_MESSAGE, payload))
        elif e.type == "timer_rescheduled":
            # A timer moved without a step (office minutes and the county's grace, an item's
            # clock): the same timer of the re-execution is the one of that element still
            # waiting until the recorded old instant.
            frozen.set(e.at)
            payload = e.payload or {}
            old = datetime.fromisoformat(str(payload["old_due_at"]))
            new = datetime.fromisoformat(str(payload["new_due_at"]))
            timer = next((t for t in engine.waiting_timers(runtime)
                          if t.element_id == e.element_id and t.due_at == old), None)
            if timer is None:
                raise TaskNotReadyError(f"the engine has no {e.element_id} timer waiting until "
                                        f"{old.isoformat()} to move")
            rerun.take(engine.reschedule_timer(runtime, timer.task_id, new))
        elif e.type == "case_migrated":
            # The rest ran on the next version: restore from the rows, as the migration did.
            target = _deployment(int(e.payload["to_deployment"]))
            runtime = engine.restore(_spec_set(target), case.process_id, rerun.envelope,
                                     rerun.stored_rows(), runtime.version)
        elif e.type in RELEASE_TYPES:
            # An item whose prerequisites were done (or run early) was let go here.
            frozen.set(e.at)
            _release(rerun, runtime, str((e.payload or {}).get("item_code")), {})
        elif e.type == "plan_items_changed" and (e.payload or {}).get("while") == "handling":
            # The plan withdrew a waiting item after the hand-over.
            frozen.set(e.at)
            _release(rerun, runtime, str((e.payload or {}).get("item_code")),
                     {"dropped": True, "reason": (e.payload or {}).get("reason")})
        elif e.type in CLOCK_ACTIONS and e.task_id and "old_due_at" in (e.payload or {}):
            # (The 补正 pauses the engine's own steps record carry no old_due_at: outputs.)
            frozen.set(e.at)
            _clock_action(rerun, runtime, mapping, e, case)
    return runtime


def _clock_action(rerun: _Rerun, runtime: Runtime, mapping: dict[str, tuple[str, int]],
                  e: Any, case: Case) -> None:
    """Write the item's clock as the department's action did (``services.clock_pauses``)."""

    engine = rerun.engine
    element, k = mapping[e.task_id]
    created = rerun.created.get(element, [])
    if k >= len(created):
        raise TaskNotReadyError(f"the engine never opened {element} #{k + 1}")
    task_id = created[k]
    task = engine.find_ready_human_task(runtime, task_id)
    item_clock = json.loads(json.dumps(task.data.get("item_clock") or {}))
    pauses = item_clock.setdefault("pauses", [])
    payload, now = e.payload, e.at.isoformat()
    if e.type == "clock_paused":
        pauses.append({"start": now, "end": None, "reason": payload.get("reason"),
                       "kind": payload.get("kind"), "cap_days": payload.get("cap_days"),
                       "article": payload.get("article")})
    elif e.type == "item_referred_upward":
        pauses.append({"start": now, "end": None, "reason": payload.get("reason"),
                       "kind": REFERRAL, "cap_days": None, "level": payload.get("level"),
                       "article": payload.get("article")})
    else:
        referral = e.type == "item_returned_from_referral"
        open_ = [p for p in pauses if p.get("end") is None and (
            p.get("kind") == REFERRAL if referral else p.get("kind") not in (REFERRAL,
                                                                             SUPPLEMENT))]
        if not open_:
            raise TaskNotReadyError(f"{e.type}: no such pause is open in the re-execution")
        open_[-1]["end"] = now
    timers = {t.element_id: t.due_at for t in engine.boundary_timers(runtime, task_id)}
    data: dict[str, Any] = {"item_clock": item_clock,
                            "item_paused_days": _paused_working_days(item_clock,
                                                                     case_county(case))}
    if OVERDUE_TIMER in timers:
        data["item_deadline"] = timers[OVERDUE_TIMER].isoformat()
    if WARNING_TIMER in timers:
        data["item_warning_at"] = timers[WARNING_TIMER].isoformat()
    deadline = payload.get("deadline")
    due = datetime.fromisoformat(deadline) if deadline else None
    rerun.take(engine.reschedule(runtime, task_id, due=due, data=data, timers={}))


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False))


def _compare_state(case: Case, rerun: _Rerun) -> list[str]:
    """Where the stored case differs from the state the re-execution ended in (its data, its
    status, its summary), each difference in words; empty when they agree."""
    out: list[str] = []
    stored_rows = [(r.id, r.workflow, r.body) for r in db.session.execute(
        select(EngineTask).where(EngineTask.case_id == case.id)).scalars()]
    try:
        engine = Engine()
        stored = engine.restore(case_store().spec_set(case.deployment), case.process_id,
                                case.envelope, stored_rows, case.state_version)
        stored_data = _normal(engine.case_data(stored))
    except Exception as exc:  # noqa: BLE001 - a state that no longer restores is a finding
        return [f"the stored engine state does not restore ({type(exc).__name__}: {exc})"]
    replayed = _normal(rerun.data)
    for key in sorted(set(stored_data) | set(replayed)):
        if stored_data.get(key) != replayed.get(key):
            out.append(f"data {key!r} is stored as {_short(stored_data.get(key))}, the inputs "
                       f"give {_short(replayed.get(key))}")
    if rerun.completed != (case.status != "running"):
        out.append(f"the case is stored as {case.status}, the inputs "
                   f"{'end it' if rerun.completed else 'leave it running'}")
    elif rerun.completed and case.status != str(replayed.get("case_outcome") or "completed"):
        out.append(f"the case is stored as {case.status}, the inputs end it as "
                   f"{replayed.get('case_outcome') or 'completed'}")
    if _normal(json.loads(case.summary or "{}")) != _normal(summary_of(rerun.data)):
        out.append("the case's stored summary differs from the data the inputs give")
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


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

    waits = [w for w in rerun.engine.message_waits(runtime, RELEASE_MESSAGE)
             if (w.data.get("item") or {}).get("code") == item_code]
    if not waits:
        raise TaskNotReadyError(f"the engine has no item {item_code} waiting to be released")
    rerun.take(rerun.engine.deliver_message(runtime, waits[0].task_id, RELEASE_MESSAGE,
                                            message))
