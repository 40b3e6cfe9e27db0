"""Timers and deadlines: find what is due by index, fire it under the case lock, warn people.

The database owns time: a waiting timer is a ``pending_timers`` row, and a sweep claims the due
ones with one indexed query on (``state``, ``due_at``), marking them ``enqueued`` in the same
transaction so a second sweep does not hand them out again. Firing a case's timers is an
ordinary step of that case (lock, advance, save, audit), and a fire that finds nothing due is a
no-op, so a message delivered twice changes nothing the second time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select, tuple_, update

from server.engine import clock
from server.extensions import db
from server.models import Case, PendingTimer, WorkItem
from server.models.cases import READY
from server.rules.assignment import answerable
from server.rules.lights import Light, item_light, time_left
from server.services import handups
from server.services.audit import record_event
from server.services.calendar import case_county, county_settings, current_calendar
from server.services.case_state import record_step_events
from server.services.errors import NotFoundError
from server.services.notifications import notify
from server.services.office_time import late_call_grace_ends
from server.services.store import case_store, with_retries
from server.services.team_assignment import team_of
from server.services.teams import co_agents_for

#: A row still ``enqueued`` after this long lost its message (a worker died before taking
#: it, a broker lost it): the sweep hands it out again. Firing is idempotent, so an early
#: duplicate costs one no-op.
DEFAULT_STUCK_AFTER = timedelta(minutes=5)

# States of a timer row: waiting for its time, handed to a worker, or parked by an incident.
PENDING, ENQUEUED, FAILED = "pending", "enqueued", "failed"


@dataclass
class Sweep:
    """What one sweep claimed: the cases to fire (the counties' in turn, each county's
    earliest due first), the row counts and the rows claimed per county."""

    case_ids: list[str] = field(default_factory=list)
    due: int = 0
    stuck: int = 0
    seconds: float = 0.0
    by_county: dict[str | None, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FiredTimer:
    task_id: str
    element_id: str
    due_at: datetime


class _NothingDue(Exception):
    """Raised inside the case lock so the lock's transaction rolls back without a write."""


def claim_due_timers(*, now: datetime | None = None, limit: int = 10_000,
                     stuck_after: timedelta = DEFAULT_STUCK_AFTER) -> Sweep:
    """Mark due (and stuck) timer rows ``enqueued`` and return their cases; commits.

    One beat sweeps every county (issue 21), and no county's backlog may hold another's
    timers back: each county with due rows gets an equal share of ``limit`` (a share one
    county leaves unused goes to those that have more), and the cases come back with the
    counties in turn, so the first batch sent to the workers holds every county's earliest
    case. ``now`` is case time (the engine clock); being stuck is measured on the wall
    clock, because it is about message delivery, not about the case.
    """
    started = time.perf_counter()
    now = now or clock.now()
    wall = datetime.now(UTC)
    sweep = Sweep()
    cases: dict[str, tuple[str | None, datetime]] = {}
    for state, condition, counter in (
        (PENDING, PendingTimer.due_at <= now, "due"),
        (ENQUEUED, PendingTimer.enqueued_at < wall - stuck_after, "stuck"),
    ):
        claimed = 0
        for county, case_id, due_at in _claim_fairly(state, condition, limit, wall):
            claimed += 1
            sweep.by_county[county] = sweep.by_county.get(county, 0) + 1
            if case_id not in cases or due_at < cases[case_id][1]:
                cases[case_id] = (county, due_at)
        setattr(sweep, counter, claimed)
    db.session.commit()
    sweep.case_ids = counties_in_turn(cases)
    sweep.seconds = time.perf_counter() - started
    return sweep


def _claim_fairly(state: str, condition: ColumnElement[bool], limit: int,
                  wall: datetime) -> list[tuple[str | None, str, datetime]]:
    """Claim up to ``limit`` rows in ``state`` meeting ``condition``, shared among counties.

    Rounds: every county still holding rows gets an equal share of what is left (at least
    one row); a county that took less than its share has no more and drops out. Each claim
    is one UPDATE of rows picked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) by the
    (``state``, ``due_at``) index, so two sweeps at once still take different rows.
    """
    counties: list[str | None] = list(db.session.execute(
        select(Case.county).distinct()
        .join(PendingTimer, PendingTimer.case_id == Case.id)
        .where(PendingTimer.state == state, condition)).scalars())
    claimed: list[tuple[str | None, str, datetime]] = []
    left = limit
    while counties and left > 0:
        share = max(1, left // len(counties))
        still: list[str | None] = []
        for county in counties:
            if left <= 0:
                break
            asked = min(share, left)
            rows = _claim(state, condition, county, asked, wall)
            claimed.extend((county, case_id, due_at) for case_id, due_at in rows)
            left -= len(rows)
            if len(rows) == asked:
                still.append(county)
        counties = still
    return claimed


def _claim(state: str, condition: ColumnElement[bool], county: str | None, limit: int,
           wall: datetime) -> list[tuple[str, datetime]]:
    """Mark one county's earliest ``limit`` rows ``enqueued``; their (case, due) pairs."""
    of_county = Case.county.is_(None) if county is None else Case.county == county
    pick = (select(PendingTimer.case_id, PendingTimer.task_id)
            .join(Case, Case.id == PendingTimer.case_id)
            .where(PendingTimer.state == state, condition, of_county)
            .order_by(PendingTimer.due_at).limit(limit))
    if db.engine.dialect.name == "postgresql":
        # Two sweeps at once (two beats by mistake) each take different rows.
        pick = pick.with_for_update(skip_locked=True, of=PendingTimer)
    rows = db.session.execute(
        update(PendingTimer)
        .where(tuple_(PendingTimer.case_id, PendingTimer.task_id).in_(pick))
        .values(state=ENQUEUED, enqueued_at=wall)
        .returning(PendingTimer.case_id, PendingTimer.due_at)
        .execution_options(synchronize_session=False)
    ).all()
    return [(case_id, due_at) for case_id, due_at in rows]


def counties_in_turn(cases: dict[str, tuple[str | None, datetime]]) -> list[str]:
    """Case ids, one county's after another's in turn (the county whose earliest case is
    due first leads), each county's cases earliest due first."""
    queues: dict[str | None, list[tuple[datetime, str]]] = {}
    for case_id, (county, due_at) in cases.items():
        queues.setdefault(county, []).append((due_at, case_id))
    ordered = sorted((sorted(queue) for queue in queues.values()), key=lambda q: q[0][0])
    longest = max((len(queue) for queue in ordered), default=0)
    return [queue[i][1] for i in range(longest) for queue in ordered if i < len(queue)]


def _due_rows(case_id: str, now: datetime) -> list[FiredTimer]:
    rows = db.session.execute(
        select(PendingTimer.task_id, PendingTimer.element_id, PendingTimer.due_at)
        .where(PendingTimer.case_id == case_id, PendingTimer.due_at <= now)
    ).all()
    return [FiredTimer(*row) for row in rows]


def fire_case_timers(case_id: str) -> list[FiredTimer]:
    """Fire the due timers of one case and run it on; returns the timers that fired.

    A case with nothing due (already fired, the timer was cancelled, the case is gone) is left
    untouched. Raises ``ScriptError`` when the path after a timer fails (nothing is written).
    """
    return with_retries(_fire_locked, case_id)  # type: ignore[no-any-return]


def _fire_locked(case_id: str) -> list[FiredTimer]:
    now = clock.now()
    if not _due_rows(case_id, now):
        db.session.rollback()
        return []
    store = case_store()
    fired: list[FiredTimer] = []
    try:
        with store.locked(case_id) as live:
            due = _due_rows(case_id, now)
            if not due:
                raise _NothingDue
            result = store.engine.advance(live.runtime)
            waiting = {t.task_id: t.due_at for t in result.timers}
            gone = set(result.timers_gone)
            fired = [t for t in due if t.task_id in gone
                     or (t.task_id in waiting and waiting[t.task_id] != t.due_at)]
            for timer in fired:
                record_event(live.case, "timer_fired", actor=None, task_id=timer.task_id,
                             element_id=timer.element_id,
                             payload={"due_at": timer.due_at.isoformat(),
                                      "fired_at": now.isoformat()})
            store.save(live.case, result)
            record_step_events(live.case, result, actor=None)
            unfired = [t.task_id for t in due if t not in fired and t.task_id not in gone]
            if unfired:
                # The engine did not see these as due; let the next sweep look again.
                db.session.execute(
                    update(PendingTimer)
                    .where(PendingTimer.case_id == case_id, PendingTimer.task_id.in_(unfired))
                    .values(state=PENDING, enqueued_at=None)
                    .execution_options(synchronize_session=False))
    except (_NothingDue, NotFoundError):
        return []
    return fired


def advance_case(case_id: str) -> bool:
    """Run a case on in the background (engine steps, due timers); True when it moved.

    Raises ``NotFoundError`` and ``ScriptError`` (nothing is written then).
    """
    return with_retries(_advance_locked, case_id)  # type: ignore[no-any-return]


def _advance_locked(case_id: str) -> bool:
    store = case_store()
    try:
        with store.locked(case_id) as live:
            result = store.engine.advance(live.runtime)
            if not (result.upserts or result.deletes):
                raise _NothingDue
            store.save(live.case, result)
            record_step_events(live.case, result, actor=None)
    except _NothingDue:
        return False
    return True


def park_failed_timers(case_id: str) -> int:
    """Take a case's due timers out of the sweep after its firing became an incident; commits.

    ``retry_incident`` fires them again (a fire looks at due rows whatever their state).
    """
    result = db.session.execute(
        update(PendingTimer)
        .where(PendingTimer.case_id == case_id, PendingTimer.due_at <= clock.now())
        .values(state=FAILED)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def timers_of(case_id: str) -> list[PendingTimer]:
    """The timers a case waits on, soonest first (for pages and tests)."""
    return list(db.session.execute(
        select(PendingTimer).where(PendingTimer.case_id == case_id)
        .order_by(PendingTimer.due_at)).scalars())


def open_items_due_by(horizon: datetime) -> list[WorkItem]:
    """Ready work items with a due date up to ``horizon`` (ix_work_items_open_due)."""
    return list(db.session.execute(
        select(WorkItem).where(WorkItem.state == READY, WorkItem.due_at.is_not(None),
                               WorkItem.due_at <= horizon)
        .order_by(WorkItem.due_at)).scalars())


def _item_people(item: WorkItem) -> tuple[list[str], list[str]]:
    """Who answers for an open item: whoever holds it, else its candidate groups."""
    holder = item.claimed_by or item.assignee
    if holder:
        return [holder], []
    return [], [c for c in item.candidate_groups.split(",") if c]


def sweep_deadlines(now: datetime | None = None) -> dict[str, int]:
    """Recompute the light of every open item with a due date and tell people; commits.

    Yellow (到期预警) warns the item's people once; red (超期警示) alerts them and the
    case's named steward and leader once (every steward before a team is named); each
    further working day overdue sends one urging (催办), to them too. Returns how many
    open items are green, yellow and red, and how many notices were new.
    """

    now = now or clock.now()
    # A yellow item is due within a working day or so; 15 calendar days covers the longest
    # holiday, so items further out are green without being loaded.
    horizon = now + timedelta(days=15)
    counts = {"green": 0, "yellow": 0, "red": 0, "notices": 0}
    for item in open_items_due_by(horizon):
        assert item.due_at is not None
        county = case_county(item.case)
        calendar = current_calendar(county=county)
        light = item_light(item.due_at, now, calendar,
                           warn_working_days=county_settings(county).light_rule.min_days)
        users, groups = _item_people(item)
        # The case's co-agents (协同代办员) of the item's department hear of its lights too.
        co_agents = (co_agents_for(item.case_id, item.candidate_groups.split(","))
                     if light is not Light.GREEN else [])
        users = [*users, *(a for a in co_agents if a not in users)]
        where = f"（{item.case.title}，{item.case.reference}）"
        due_text = item.due_at.isoformat(timespec="minutes")
        grace_ends = late_call_grace_ends(item) if light is Light.RED else None
        if grace_ends is not None and now < grace_ends:
            # 原则上30分钟: a late call is yellow with a reminder until the county's grace ends.
            counts["yellow"] += 1
            counts["notices"] += len(notify(
                kind="warning", title=f"报到提醒：{item.name}{where}",
                body=f"原则上应于30分钟内到达专窗领受任务（{due_text}）；"
                     f"{grace_ends.isoformat(timespec='minutes')} 前仍未领受将转项目管家催办"
                     f"（本县设置的宽限）。", users=users, groups=groups,
                case_id=item.case_id, task_id=item.id, dedupe_key=f"late_call:{item.id}"))
            continue
        counts[light.code] += 1
        if light is Light.YELLOW:
            counts["notices"] += len(notify(
                kind="warning", title=f"到期预警：{item.name}{where}",
                body=f"“{item.name}”将于 {due_text} 到期。", users=users, groups=groups,
                case_id=item.case_id, task_id=item.id, dedupe_key=f"warning:{item.id}"))
        elif light is Light.RED:
            # The case's named steward and leader answer for it (seed 004: 一个项目、一名
            # 领导); before the team is formed, every steward is told.
            named = answerable(team_of(item.case_id))
            counts["notices"] += len(notify(
                kind="overdue", title=f"超期警示：{item.name}{where}",
                body=f"“{item.name}”已于 {due_text} 到期，尚未办结。", users=[*users, *named],
                groups=groups if named else [*groups, "steward"], case_id=item.case_id,
                task_id=item.id, dedupe_key=f"overdue:{item.id}"))
            days_over = -time_left(item.due_at, now, calendar).working_days
            if days_over >= 1:
                counts["notices"] += len(notify(
                    kind="urging", title=f"催办：{item.name}已超期{days_over}个工作日{where}",
                    body=f"请尽快办理“{item.name}”。", users=[*users, *named], groups=groups,
                    case_id=item.case_id, task_id=item.id,
                    dedupe_key=f"urging:{item.id}:{days_over}"))
    # The prefecture's hand-ups run on their own clock and tell their people the same way.
    handed = handups.remind_due(now)
    counts["handups_yellow"], counts["handups_red"] = handed["yellow"], handed["red"]
    counts["notices"] += handed["notices"]
    db.session.commit()
    return counts
