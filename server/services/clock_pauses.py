"""The lawful clock of an approval item: its deadline, its pauses and referral, and the engine
timers that wait on it.

The diagram ``department_item`` keeps each item's clock in its data (see
:mod:`server.rules.clock_law` for the record and the law)::

    item_clock = {"received_at": iso | None, "started_at": iso, "pauses": [
        {"start": iso, "end": iso | None, "reason": str, "kind": str, "cap_days": int | None,
         "article": str}, ...]}

The diagram records 补正 (``pause_item_clock`` / ``resume_item_clock``, 行政许可法 Art. 32) and
asks :func:`server.services.calendar.item_schedule` (through the script functions
``item_due`` / ``item_warning``) when the item is due. A department stops the clock on its open
办理 task for an Art. 45 procedure or a 公示 (:func:`start_pause` / :func:`end_pause`) and sends
an item up for the prefecture's or the province's decision (:func:`refer_upward` /
:func:`return_from_referral`). Each of these, and every calendar change
(:func:`reschedule_item_timers`), moves the task's deadline and the yellow and red timers already
waiting on it, under the case lock, audited with the article.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.engine import clock
from server.engine.errors import TaskNotReadyError
from server.engine.runtime import StepResult
from server.extensions import db
from server.models import Case, Handup, User, WorkItem
from server.rules import clock_law
from server.rules.clock_law import (
    REFERRAL,
    SUPPLEMENT,
    Art32Mode,
    LightRule,
    pause_kind,
)
from server.rules.workdays import Deadline, LimitKind, WorkCalendar
from server.services import access, tenancy
from server.services.audit import record_event
from server.services.calendar import (
    ItemSchedule,
    case_county,
    county_settings,
    current_calendar,
    item_schedule,
)
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.store import case_store, with_retries

#: The user task during which an item's clock stands still for 补正.
PAUSING_ELEMENT = "supply_materials"
#: The department's 办理 task, whose boundary timers are the item's yellow and red lights.
HANDLING_ELEMENT = "handle_item"
WARNING_TIMER = "item_due_warning"
OVERDUE_TIMER = "item_overdue"
LEVELS = {"prefecture": "州（市）", "province": "省"}
MAX_CAP_DAYS = 365


def item_deadline(item_clock: dict[str, Any], promised_days: int,
                  calendar: WorkCalendar | None = None, *,
                  limit_kind: LimitKind | str = LimitKind.WORKING,
                  art32_mode: Art32Mode | str = Art32Mode.RESTART) -> Deadline:
    """When an item is due (see :func:`server.rules.clock_law.item_deadline`); raises
    ValueError on malformed times."""
    return clock_law.item_deadline(item_clock, int(promised_days),
                                   calendar or current_calendar(), limit_kind=limit_kind,
                                   art32_mode=art32_mode)


def light_rule_of(case: Case) -> LightRule:
    """The light threshold of the case's county."""
    return county_settings(case_county(case)).light_rule


# ---- the diagram's 补正 ----------------------------------------------------------------------
def record_clock_events(case: Case, result: StepResult, *, actor: str | None) -> None:
    """Audit ``clock_paused`` / ``clock_resumed`` for the supplement tasks a step opened or ended.

    A supplement task that opens stops its item's clock (行政许可法 Art. 32: not accepted until
    complete); one that is completed (materials returned) or cancelled (the case was
    terminated) ends the 补正. The resumed event carries the deadline by the county's Art. 32
    setting.
    """
    now = clock.now()
    kind = pause_kind(SUPPLEMENT)
    for human in result.human:
        if human.element_id != PAUSING_ELEMENT:
            continue
        item = human.data.get("item") or {}
        item_clock = human.data.get("item_clock") or {}
        common = {"item_code": item.get("code"), "item_name": item.get("name"),
                  "department": item.get("department"), "kind": SUPPLEMENT,
                  "article": kind.article_zh}
        if human.state == "ready":
            record_event(case, "clock_paused", actor=actor, task_id=human.id,
                         element_id=human.element_id, element_name=human.name, at=now,
                         payload={**common, "reason": "补正",
                                  "request": human.data.get("supplement_request"),
                                  "paused_at": now.isoformat()})
        elif human.state in {"completed", "cancelled"} and item_clock:
            # The task's data still shows the pause open: it closes now.
            closed = dict(item_clock)
            closed["pauses"] = [dict(p, end=p.get("end") or now.isoformat())
                                for p in item_clock.get("pauses") or []]
            county = case_county(case)
            calendar = current_calendar(county=county)
            settings = county_settings(county)
            paused = sum(calendar.working_days_between(p.start, p.end)
                         for p in clock_law.pauses_of(closed)
                         if p.end is not None and p.kind == SUPPLEMENT)
            schedule: ItemSchedule | None = None
            # Under 行政许可法 Art. 32 the period runs from 受理: a 补正 before it moves no
            # deadline, as none has begun. A county that pauses instead counts from receipt.
            if item_clock.get("started_at") or (
                    settings.art32_mode is Art32Mode.PAUSE and item_clock.get("received_at")):
                schedule = item_schedule(item, closed, now, calendar=calendar, settings=settings)
            record_event(case, "clock_resumed", actor=actor, task_id=human.id,
                         element_id=human.element_id, element_name=human.name, at=now,
                         payload={**common, "resumed_at": now.isoformat(),
                                  "ended_by": human.state,
                                  "paused_working_days": paused,
                                  "art32_mode": settings.art32_mode.value,
                                  "deadline": schedule.deadline.at.isoformat()
                                  if schedule else None,
                                  "provisional": schedule.deadline.provisional
                                  if schedule else None})


# ---- moving an open item's deadline and timers ----------------------------------------------
def _move(live: Any, task_id: str, item_clock: dict[str, Any], *, actor: str | None,
          reason: str, force: bool = False) -> tuple[datetime | None, ItemSchedule]:
    """Recount one open 办理 task with ``item_clock`` and move its deadline and timers.

    Without ``force`` nothing is written when the deadline and the timers stay where they are.
    """
    store = case_store()
    task = store.engine.find_ready_human_task(live.runtime, task_id)
    item = dict(task.data.get("item") or {})
    county = case_county(live.case)
    now = clock.now()
    schedule = item_schedule(item, item_clock, now,
                             calendar=current_calendar(county=county, refresh=True),
                             settings=county_settings(county))
    waiting = {t.element_id: t for t in store.engine.boundary_timers(live.runtime, task_id)}
    wanted = {OVERDUE_TIMER: schedule.timer_at, WARNING_TIMER: schedule.warning_timer_at}
    work_item = db.session.get(WorkItem, task_id)
    old_due = work_item.due_at if work_item is not None else None
    new_due = None if schedule.deadline.referred else schedule.deadline.at
    due_moves = work_item is not None and (
        work_item.due_at != new_due or work_item.due_provisional != schedule.deadline.provisional)
    timers_move = any(t.due_at != wanted[k] for k, t in waiting.items() if k in wanted)
    if not (force or due_moves or timers_move):
        return old_due, schedule
    result = store.engine.reschedule(
        live.runtime, task_id, due=new_due,
        data={"item_clock": item_clock, "item_deadline": schedule.timer_at.isoformat(),
              "item_warning_at": schedule.warning_timer_at.isoformat(),
              "item_paused_days": _paused_working_days(item_clock, county)},
        timers={k: v for k, v in wanted.items() if k in waiting})
    store.save(live.case, result)
    for element_id, timer in waiting.items():
        if element_id in wanted and timer.due_at != wanted[element_id]:
            record_event(live.case, "timer_rescheduled", actor=actor, task_id=timer.task_id,
                         element_id=element_id, at=now, payload={
                             "old_due_at": timer.due_at.isoformat(),
                             "new_due_at": wanted[element_id].isoformat(), "reason": reason,
                             "item_task_id": task_id})
    if work_item is not None and due_moves:
        record_event(live.case, "deadline_recomputed", actor=actor, task_id=task_id,
                     element_id=work_item.element_id, element_name=work_item.name, at=now,
                     payload={"old_due_at": old_due.isoformat() if old_due else None,
                              "new_due_at": new_due.isoformat() if new_due else None,
                              "provisional": schedule.deadline.provisional,
                              "referred": schedule.deadline.referred, "reason": reason})
        work_item.due_at = new_due
        work_item.due_provisional = schedule.deadline.provisional
    return old_due, schedule


def _paused_working_days(item_clock: dict[str, Any], county: str | None) -> int:
    """Working days of the closed pauses (what the diagram records as ``item_paused_days``)."""
    calendar = current_calendar(county=county)
    return sum(calendar.working_days_between(p.start, p.end)
               for p in clock_law.pauses_of(item_clock) if p.end is not None)


def reschedule_item_timers(live: Any, item_ids: list[str], *, actor: str | None,
                           reason: str) -> dict[str, tuple[datetime, Deadline] | None]:
    """Recount the open 办理 tasks among ``item_ids`` with the current calendar and move their
    timers (inside the caller's case lock). Returns, per such task, (old due, new deadline)
    when its deadline moved, else None."""
    out: dict[str, tuple[datetime, Deadline] | None] = {}
    rows = db.session.query(WorkItem.id).filter(
        WorkItem.id.in_(item_ids), WorkItem.element_id == HANDLING_ELEMENT).all()
    store = case_store()
    for (task_id,) in rows:
        try:
            task = store.engine.find_ready_human_task(live.runtime, task_id)
        except TaskNotReadyError:
            continue
        item_clock = task.data.get("item_clock")
        if not isinstance(item_clock, dict) or not item_clock.get("started_at"):
            continue
        before = db.session.get(WorkItem, task_id)
        old = before.due_at if before is not None else None
        _, schedule = _move(live, task_id, item_clock, actor=actor, reason=reason)
        moved = old is not None and not schedule.deadline.referred and \
            schedule.deadline.at != old
        out[task_id] = (old, schedule.deadline) if moved and old is not None else None
    return out


# ---- a department's actions on its open item --------------------------------------------------
def _open_handling(user: User, task_id: str, *, higher_level: bool = False) -> WorkItem:
    item = db.session.get(WorkItem, task_id)
    if item is None or not tenancy.in_scope(user, item.case):
        raise NotFoundError(f"task {task_id} does not exist")
    if item.element_id != HANDLING_ELEMENT:
        raise ValidationFailedError("only an approval item being handled (部门办理审批事项) can be "
                                    "paused or referred", {"task": [item.element_id]})
    if item.state != "ready":
        raise ConflictError(f"task {task_id} is already {item.state}")
    # The prefecture department that decided a handed-up item returns it (its caller,
    # ``server.services.handups``, checked that department).
    if not higher_level and access.acting_role(user, item) is None:
        raise PermissionDeniedError("only the department handling this item may stop its clock")
    return item


def require_handling(user: User, task_id: str) -> WorkItem:
    """The open 办理 task ``user``'s department handles; raises as :func:`start_pause`."""
    return _open_handling(user, task_id)


def _clock_action(user: User, task_id: str, change: Any, *,
                  higher_level: bool = False) -> dict[str, Any]:
    item = _open_handling(user, task_id, higher_level=higher_level)
    return with_retries(_clock_locked, user, item.case_id, task_id, change)  # type: ignore[no-any-return]


def _clock_locked(user: User, case_id: str, task_id: str, change: Any) -> dict[str, Any]:
    store = case_store()
    with store.locked(case_id, item_id=task_id) as live:
        if live.item is None or live.item.state != "ready":
            raise ConflictError(f"task {task_id} is no longer open")
        try:
            task = store.engine.find_ready_human_task(live.runtime, task_id)
        except TaskNotReadyError as exc:
            raise ConflictError(str(exc)) from exc
        now = clock.now()
        item_clock = json.loads(json.dumps(task.data.get("item_clock") or {}))
        if not item_clock.get("started_at"):
            raise ConflictError("the item's clock has not started")
        item = dict(task.data.get("item") or {})
        event, payload = change(item_clock, item, now, live.case)
        old_due, schedule = _move(live, task_id, item_clock, actor=user.username, reason=event,
                                  force=True)
        payload = {"item_code": item.get("code"), "item_name": item.get("name"),
                   "department": item.get("department"), **payload,
                   "old_due_at": old_due.isoformat() if old_due else None,
                   "deadline": None if schedule.deadline.referred
                   else schedule.deadline.at.isoformat(),
                   "provisional": schedule.deadline.provisional}
        record_event(live.case, event, actor=user.username, task_id=task_id,
                     element_id=live.item.element_id, element_name=live.item.name, at=now,
                     payload=payload)
        return payload


def start_pause(user: User, task_id: str, *, kind: str, reason: str,
                cap_days: int | None) -> dict[str, Any]:
    """Stop an open item's clock for an Art. 45 procedure or a 公示; audited ``clock_paused``.

    ``cap_days`` is the time notified to the applicant in writing (Art. 45: 行政机关应当将所需
    时间书面告知申请人), in the item's limit unit; for 公示 it defaults to the county's setting.
    Raises NotFoundError, PermissionDeniedError, ConflictError (a pause already open, the task
    closed) and ValidationFailedError (unknown kind, no reason, a bad cap).
    """
    try:
        spec = pause_kind(kind)
    except ValueError as exc:
        raise ValidationFailedError(str(exc), {"kind": [str(exc)]}) from None
    if not spec.department_action or kind == REFERRAL:
        raise ValidationFailedError(f"{spec.label_zh} is not a pause a department starts",
                                    {"kind": [kind]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailedError("say why the clock stops (事由)", {"reason": ["required"]})

    def change(item_clock: dict[str, Any], item: dict[str, Any], now: datetime,
               case: Case) -> tuple[str, dict[str, Any]]:
        cap = cap_days
        if cap is None and kind == clock_law.PUBLICITY:
            cap = county_settings(case_county(case)).publicity_cap_days
        if cap is None or not 0 < int(cap) <= MAX_CAP_DAYS:
            raise ValidationFailedError(
                f"give the time needed, 1–{MAX_CAP_DAYS} days (书面告知申请人的所需时间)",
                {"cap_days": [str(cap)]})
        if any(p.get("end") is None for p in item_clock.get("pauses") or []):
            raise ConflictError("the clock is already stopped; end that pause first")
        item_clock.setdefault("pauses", []).append({
            "start": now.isoformat(), "end": None, "reason": reason, "kind": kind,
            "cap_days": int(cap), "article": spec.article_zh})
        return "clock_paused", {"kind": kind, "kind_label": spec.label_zh, "reason": reason,
                                "cap_days": int(cap), "article": spec.article_zh,
                                "paused_at": now.isoformat(),
                                "limit_kind": LimitKind.of(item.get("limit_kind")).value}

    return _clock_action(user, task_id, change)


def end_pause(user: User, task_id: str) -> dict[str, Any]:
    """Start an item's clock again after its Art. 45 procedure or 公示; audited
    ``clock_resumed`` with the days left out. Raises as :func:`start_pause` (ConflictError
    when no such pause is open)."""

    def change(item_clock: dict[str, Any], item: dict[str, Any], now: datetime,
               case: Case) -> tuple[str, dict[str, Any]]:
        open_ = [p for p in item_clock.get("pauses") or []
                 if p.get("end") is None and p.get("kind") not in (REFERRAL, SUPPLEMENT)]
        if not open_:
            raise ConflictError("no pause is open on this item")
        pause = open_[-1]
        pause["end"] = now.isoformat()
        kind = LimitKind.of(item.get("limit_kind"))
        calendar = current_calendar(county=case_county(case))
        taken = calendar.days_between(datetime.fromisoformat(pause["start"]), now, kind)
        credited = min(taken, int(pause.get("cap_days") or taken))
        spec = pause_kind(str(pause.get("kind")))
        return "clock_resumed", {"kind": spec.code, "kind_label": spec.label_zh,
                                 "reason": pause.get("reason"), "article": spec.article_zh,
                                 "resumed_at": now.isoformat(), "paused_days": taken,
                                 "credited_days": credited, "limit_kind": kind.value}

    return _clock_action(user, task_id, change)


#: What a hand-up writes beside the clock change, in the same transaction: called with the
#: case, the item, the time; returns facts added to the audit event. (The item's clock record
#: keeps only what re-execution rebuilds from the event; the hand-up row keeps the rest.)
Beside = Callable[[Case, dict[str, Any], datetime], dict[str, Any]]


def refer_upward(user: User, task_id: str, *, level: str, reason: str,
                 beside: Beside | None = None) -> dict[str, Any]:
    """Send an item up for the prefecture's or the province's decision (上报州/省审批, 行政许可法
    Art. 43): the county's clock stops and the item shows 上级审批中, never red on the county;
    audited ``item_referred_upward``. ``beside`` writes the hand-up to a prefecture department
    (``server.services.handups``) in the same transaction. Raises as :func:`start_pause`."""
    if level not in LEVELS:
        raise ValidationFailedError(f"unknown level {level!r}; use prefecture or province",
                                    {"level": [level]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailedError("say what was sent up (事由)", {"reason": ["required"]})
    spec = pause_kind(REFERRAL)

    def change(item_clock: dict[str, Any], item: dict[str, Any], now: datetime,
               case: Case) -> tuple[str, dict[str, Any]]:
        if any(p.get("end") is None for p in item_clock.get("pauses") or []):
            raise ConflictError("the clock is already stopped; end that pause first")
        if beside is None and item.get("level") == "prefecture":
            # The prefecture's departments are on the platform (issue 21): such an item is
            # handed up to them, with its materials, not referred by free text.
            raise ValidationFailedError(
                "this item is decided by a prefecture department on the platform: hand it up "
                "(交州级部门审批)", {"level": [level]})
        extra = beside(case, item, now) if beside is not None else {}
        item_clock.setdefault("pauses", []).append({
            "start": now.isoformat(), "end": None, "reason": reason, "kind": REFERRAL,
            "cap_days": None, "level": level, "article": spec.article_zh})
        return "item_referred_upward", {"level": level, "level_label": LEVELS[level],
                                        "reason": reason, "article": spec.article_zh,
                                        "referred_at": now.isoformat(), **extra}

    return _clock_action(user, task_id, change)


def return_from_referral(user: User, task_id: str, *, outcome: str,
                         beside: Beside | None = None) -> dict[str, Any]:
    """Record that the higher level decided and the item is back with the county; its clock runs
    again; audited ``item_returned_from_referral``. With ``beside`` the prefecture department
    that decided a hand-up returns it (its decision written in the same transaction; the
    caller checked the department). Raises as :func:`start_pause`."""

    def change(item_clock: dict[str, Any], item: dict[str, Any], now: datetime,
               case: Case) -> tuple[str, dict[str, Any]]:
        open_ = [p for p in item_clock.get("pauses") or []
                 if p.get("end") is None and p.get("kind") == REFERRAL]
        if not open_:
            raise ConflictError("this item is not with a higher level")
        if beside is None and db.session.query(Handup.id).filter(
                Handup.county_task_id == task_id,
                Handup.state.in_(("sent", "accepted"))).first() is not None:
            raise ConflictError("this item is with a prefecture department on the platform; "
                                "its decision comes back by itself (州级部门办结后自动回传)")
        extra = beside(case, item, now) if beside is not None else {}
        open_[-1]["end"] = now.isoformat()
        return "item_returned_from_referral", {
            "level": open_[-1].get("level"), "outcome": (outcome or "").strip(),
            "article": pause_kind(REFERRAL).article_zh, "returned_at": now.isoformat(),
            **extra}

    return _clock_action(user, task_id, change, higher_level=beside is not None)


def refuse_while_referred(element_id: str, data: dict[str, Any]) -> None:
    """Raise ``ConflictError`` when a 办理 task's item is with a higher level (its referral
    or hand-up is open): the county cannot finish what the prefecture or the province still
    decides (行政许可法 Art. 43); the decision, or 上级审批已办结, comes first."""
    if element_id != HANDLING_ELEMENT:
        return
    item_clock = data.get("item_clock")
    pauses = item_clock.get("pauses") if isinstance(item_clock, dict) else None
    if any(isinstance(p, dict) and p.get("kind") == REFERRAL and p.get("end") is None
           for p in pauses or []):
        raise ConflictError("这一事项正在上级审批中，待上级决定（或登记上级办结）后再办结 / "
                            "the item is with the higher level; it is finished after its "
                            "decision comes back")


def item_of(task_id: str) -> dict[str, Any] | None:
    """The case item dict an open 办理 task works on (for pages), or None."""
    data = _task_data(task_id)
    value = data.get("item") if data else None
    return dict(value) if isinstance(value, dict) else None


def _task_data(task_id: str) -> dict[str, Any] | None:
    item = db.session.get(WorkItem, task_id)
    if item is None or item.element_id != HANDLING_ELEMENT or item.state != "ready":
        return None
    store = case_store()
    case = db.session.get(Case, item.case_id)
    if case is None:
        return None
    with store.reading(case) as runtime:
        try:
            task = store.engine.find_ready_human_task(runtime, task_id)
        except TaskNotReadyError:
            return None
        return dict(task.data)


def clock_of(task_id: str) -> dict[str, Any] | None:
    """The clock record of an open 办理 task as the engine holds it (for pages), or None."""
    data = _task_data(task_id)
    value = data.get("item_clock") if data else None
    return dict(value) if isinstance(value, dict) else None
