"""Loading, locking and saving live cases.

Live workflows stay in memory keyed by case id and ``state_version``; a step reloads from the
database only when another process moved the stored version. Every step runs under a
per-process lock for the case plus a database row lock (PostgreSQL ``FOR UPDATE``), and its
write checks the version it read, so two writers of one case serialize and neither is lost.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import (
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy import insert as insert_rows
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY, JSON
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import InstanceState, lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from server.engine import clock
from server.engine.parser import SpecSet, parse_files
from server.engine.runtime import ENVELOPE_PREFIX, Engine, Runtime, StepResult
from server.engine.scripting import counting_for
from server.extensions import db
from server.models import Case, Deployment, EngineTask, PendingTimer, WorkItem, WorkItemGroup
from server.models.sqlalchemy_internals import mark_as_saved
from server.services.audit import record_event
from server.services.calendar import case_county, is_provisional
from server.services.errors import ConflictError, NotFoundError, SettledConflictError
from server.services.office_time import OFFICE_TIME_TIMERS, align_office_time_timers
from server.services.team_assignment import assign_new_tasks

log = logging.getLogger(__name__)
MAX_LIVE_CASES = 512
#: Work item ids whose case this process remembers (an item never changes case).
MAX_KNOWN_ITEMS = 65536
MAX_RETRIES = 8


class _Retry(Exception):
    """The stored version moved under us; start the step again."""


@dataclass
class LiveCase:
    case: Case
    runtime: Runtime
    item: WorkItem | None = None


@dataclass
class _TaskWrites:
    """A locked step's engine rows, written with the case's UPDATE when the step ends (on
    PostgreSQL in the same statement): changed rows by id (workflow, body), and rows gone."""

    upserts: dict[str, tuple[str, str]] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)


def _pending_task_writes() -> dict[str, _TaskWrites]:
    """The engine rows still to write of the cases this thread runs a locked step of."""
    pending: dict[str, _TaskWrites] | None = getattr(_active, "writes", None)
    if pending is None:
        pending = _active.writes = {}
    return pending


_WROTE = "guanjia.wrote"
_DML = ("INSERT", "UPDATE", "DELETE")
_active = threading.local()  # the case a locked step runs for: (case id, item id, version)


def track_writes(engine: Any) -> None:
    """Note on each connection whether its open transaction has written anything yet."""

    @event.listens_for(engine, "begin")
    def _begun(connection: Any) -> None:
        connection.info.pop(_WROTE, None)

    @event.listens_for(engine, "after_cursor_execute")
    def _executed(connection: Any, _cursor: Any, statement: str, _params: Any,
                  _context: Any, _many: bool) -> None:
        if statement.lstrip()[:6].upper() in _DML:
            connection.info[_WROTE] = True


def release_read_transaction() -> bool:
    """End the session's transaction when it has only read: True when it was ended.

    A slow step's scripts may run for up to their budget; holding a transaction meanwhile
    would hold the SQLite write lock (every transaction begins IMMEDIATE) or a PostgreSQL
    pooled connection and row lock for that long. Nothing is lost: the session is clean,
    objects stay loaded (``expire_on_commit=False``), and the write re-checks the version it
    read.
    """
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    if any(session.info.values()):  # audit rows or after-commit sends are waiting
        return False
    if session.connection().info.get(_WROTE):
        return False
    session.commit()
    return True


class CaseStore:
    """The engine, parsed deployments and live cases of this process."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.engine.around_step = self._outside_transaction
        self._spec_sets: dict[int, SpecSet] = {}
        self._live: OrderedDict[str, Runtime] = OrderedDict()
        # The lock of each case some thread holds or waits for, with how many do: an entry
        # goes when its last user lets go, so the map never outgrows the cases in flight.
        self._locks: dict[str, list[Any]] = {}
        self._guard = threading.Lock()
        self._lock_queries: dict[tuple[str, bool], Any] = {}
        # Timers the steps under a case's lock started that count office time (by case).
        self._started_timers: dict[str, list[Any]] = {}
        self._locks_held: set[str] = set()
        self._case_of_item: dict[str, str] = {}

    # ---- deployments ------------------------------------------------------------------
    def spec_set(self, deployment: Deployment) -> SpecSet:
        cached = self._spec_sets.get(deployment.id)
        if cached is None:
            files = {f.name: f.content for f in deployment.files if f.kind in {"bpmn", "dmn"}}
            cached = parse_files(files)
            self._spec_sets[deployment.id] = cached
        return cached

    def remember_spec_set(self, deployment_id: int, spec_set: SpecSet) -> None:
        self._spec_sets[deployment_id] = spec_set

    # ---- which case a work item belongs to ----------------------------------------------
    def note_items(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember the case of these work items (item id, case id): an item never moves, so
        a person acting on a task listed or created here costs no read before the case's
        lock (the lock's statement reads the item afresh anyway)."""
        known = self._case_of_item
        for item_id, case_id in pairs:
            known[item_id] = case_id
        if len(known) > MAX_KNOWN_ITEMS:
            known.clear()

    def case_of_item(self, item_id: str) -> str | None:
        """The case of a work item this process has seen, or None."""
        return self._case_of_item.get(item_id)

    # ---- live cases -------------------------------------------------------------------
    def _lock_for(self, case_id: str) -> threading.Lock:
        """The case's in-process lock, counted as used until ``_done_with`` (not yet held)."""
        with self._guard:
            entry = self._locks.get(case_id)
            if entry is None:
                entry = self._locks[case_id] = [threading.Lock(), 0]
            entry[1] += 1
            lock: threading.Lock = entry[0]
            return lock

    def _done_with(self, case_id: str) -> None:
        with self._guard:
            entry = self._locks.get(case_id)
            if entry is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    del self._locks[case_id]

    def lock_count(self) -> int:
        """How many case locks this process keeps now (one per case in use)."""
        with self._guard:
            return len(self._locks)

    def _acquire(self, case_id: str) -> threading.Lock:
        lock = self._lock_for(case_id)
        try:
            if not lock.acquire(blocking=False):
                # On SQLite every transaction holds the write lock, and a slow step holding
                # this case's lock lets go of its transaction and takes it again: never wait
                # for the case while holding the database.
                if db.engine.dialect.name == "sqlite":
                    release_read_transaction()
                lock.acquire()
        except BaseException:
            self._done_with(case_id)
            raise
        return lock

    @contextmanager
    def reading(self, case: Case) -> Iterator[Runtime]:
        """The live workflow of a case for reading, under the case's lock: no step of
        another thread changes it meanwhile. Keep the body short and do not write."""
        step = getattr(_active, "step", None)
        if step is not None and step[0] == case.id:  # this thread runs a step of it already
            yield self.load(case)
            return
        lock = self._acquire(case.id)
        try:
            yield self.load(case)
        finally:
            lock.release()
            self._done_with(case.id)

    def forget(self, case_id: str) -> None:
        with self._guard:
            self._live.pop(case_id, None)

    def _cached(self, case_id: str, version: int) -> Runtime | None:
        with self._guard:
            runtime = self._live.get(case_id)
            if runtime is not None and runtime.version == version:
                self._live.move_to_end(case_id)
                return runtime
            return None

    def keep(self, case_id: str, runtime: Runtime) -> None:
        with self._guard:
            self._live[case_id] = runtime
            self._live.move_to_end(case_id)
            while len(self._live) > MAX_LIVE_CASES:
                self._live.popitem(last=False)

    def load(self, case: Case) -> Runtime:
        """The live workflow of a case at its stored version (from memory when current)."""
        runtime = self._cached(case.id, case.state_version)
        if runtime is not None:
            return runtime
        deployment = db.session.get(Deployment, case.deployment_id)
        if deployment is None:
            raise NotFoundError(f"deployment {case.deployment_id} of case {case.id} is missing")
        rows = db.session.execute(
            select(EngineTask.id, EngineTask.workflow, EngineTask.body)
            .where(EngineTask.case_id == case.id)
        ).all()
        runtime = self.engine.restore(self.spec_set(deployment), case.process_id, case.envelope,
                                      [(r.id, r.workflow, r.body) for r in rows],
                                      case.state_version)
        self.keep(case.id, runtime)
        return runtime

    @contextmanager
    def locked(self, case_id: str, *, item_id: str | None = None) -> Iterator[LiveCase]:
        """Run one step of a case under its locks; commits on success, rolls back on error.

        The body gets the case row and its live workflow (and, with ``item_id``, that work
        item read afresh under the lock, in the same statement); it must call ``save`` for
        each step result. Raises ``NotFoundError``; retries by itself when another process
        wrote first.
        """
        lock = self._acquire(case_id)
        self._locks_held.add(case_id)
        try:
            yield from self._locked(case_id, item_id)
        finally:
            self._locks_held.discard(case_id)
            self._started_timers.pop(case_id, None)
            lock.release()
            self._done_with(case_id)

    def _locked(self, case_id: str, item_id: str | None) -> Iterator[LiveCase]:
        query = self._lock_query(with_item=item_id is not None)
        params = {"case_id": case_id, "item_id": item_id}
        row = db.session.execute(query, params).one_or_none()
        if row is None:
            raise NotFoundError(f"case {case_id} does not exist")
        case = row[0]
        item = row[1] if item_id is not None else None
        if item_id is not None and item is None:
            raise NotFoundError(f"task {item_id} does not exist")
        version = case.state_version
        live = LiveCase(case, self.load(case), item)
        pending = _pending_task_writes()
        pending[case_id] = _TaskWrites()
        outer = getattr(_active, "step", None)
        _active.step = (case_id, item_id, version)

        try:
            # The diagram's deadlines count with the case's county calendar.
            with db.session.no_autoflush, counting_for(case_county(case)):
                yield live
                self._after_step(live)
            self._write_case(case, version)
            try:
                db.session.commit()
            except StaleDataError as exc:
                raise ConflictError("the case was changed by someone else; try again") from exc
            live.runtime.version = version + 1
            self.keep(case_id, live.runtime)
        except BaseException:
            self._started_timers.pop(case_id, None)
            db.session.rollback()
            # The in-memory workflow may hold half a step; the database has the truth.
            self.forget(case_id)
            raise
        finally:
            _active.step = outer
            pending.pop(case_id, None)

    @contextmanager
    def _outside_transaction(self) -> Iterator[Any]:
        """Let a slow step run with no transaction open, then lock its case again.

        The engine calls the handed-out function when the step's scripts run on past a few
        hundredths of a second. Raises ``ConflictError`` when another process moved the case
        meanwhile (the locked step is then tried again by ``with_retries``).
        """
        released: list[bool] = []

        def release() -> None:
            try:
                released.append(release_read_transaction())
            except Exception:  # noqa: BLE001 - the step goes on holding its transaction
                log.exception("could not end the transaction of a slow step")

        yield release
        step = getattr(_active, "step", None)
        if not any(released) or step is None:
            return
        case_id, item_id, version = step
        row = db.session.execute(self._lock_query(with_item=item_id is not None),
                                 {"case_id": case_id, "item_id": item_id}).one_or_none()
        if row is None or row[0].state_version != version:
            raise ConflictError("the case was changed by someone else; try again")

    def _lock_query(self, *, with_item: bool) -> Any:
        # Built once: the case row (locked FOR UPDATE on PostgreSQL) and, when a person acts
        # on a task, that work item read afresh in the same statement.
        key = (db.engine.dialect.name, with_item)
        query = self._lock_queries.get(key)
        if query is None:
            # (The item's case is the row beside it: not joined a second time.)
            query = select(Case, WorkItem).outerjoin(WorkItem, (WorkItem.case_id == Case.id) & (
                WorkItem.id == bindparam("item_id"))).options(lazyload(WorkItem.case)) \
                if with_item else select(Case)
            query = query.where(Case.id == bindparam("case_id")).execution_options(
                populate_existing=True)
            if key[0] == "postgresql":
                query = query.with_for_update(of=Case)
            self._lock_queries[key] = query
        return query

    def _write_case(self, case: Case, version: int) -> None:
        """The case's one UPDATE, checking the version read under the lock.

        Core, not the unit of work: only the columns the step changed, WHERE state_version =
        :read, and a rowcount that says whether another process got there first.
        """
        state: InstanceState[Case] = sa_inspect(case)
        attrs = state.attrs
        changed = tuple(key for key in _CASE_COLUMNS if attrs[key].history.has_changes())
        params = {f"new_{key}": attrs[key].value for key in changed}
        params.update(case_id=case.id, read_version=version, new_state_version=version + 1)
        connection = db.session.connection()
        writes = _pending_task_writes().pop(case.id, None)
        statement = _case_update(changed)
        if writes is not None and connection.dialect.name == "postgresql":
            # The step's engine rows in the same statement (issue 18: one round trip).
            if writes.deletes:
                params["gone_ids"] = sorted(writes.deletes)
            if writes.upserts:
                params["task_rows"] = json.dumps(
                    [{"id": i, "workflow": w, "body": b} for i, (w, b) in writes.upserts.items()],
                    ensure_ascii=False, separators=(",", ":"))
            statement = _case_update_with_tasks(changed, bool(writes.deletes),
                                                bool(writes.upserts))
        elif writes is not None:
            self._write_tasks(connection, case.id, writes)
        written = connection.execute(statement, params)
        if written.rowcount != 1:
            raise ConflictError("the case was changed by someone else; try again")
        case.state_version = version + 1
        # Everything loaded is now what the database holds; otherwise commit runs a
        # unit-of-work pass that finds nothing to write (docs/engine.md, SQLAlchemy §1).
        mark_as_saved(case)

    # ---- writing a step ---------------------------------------------------------------
    def save(self, case: Case, result: StepResult, *, context: dict[str, Any] | None = None,
             completion: Completion | None = None) -> list[str]:
        """Write a step's changed rows, work items and timers; returns new work item ids.

        ``completion`` names the task a person completed in this step, so its work item is
        closed with who and when in the same UPDATE.
        """
        session = db.session
        writes = _pending_task_writes().get(case.id)  # None: not under this thread's lock
        with session.no_autoflush:
            if writes is not None and result.deleted_workflows:
                # The rows of the workflows gone are read below: the lock's earlier steps'
                # rows must be stored first.
                self._write_tasks(session.connection(), case.id, writes)
                writes.upserts.clear()
                writes.deletes.clear()
            elif writes is not None and result.ended is not None:
                writes.upserts.clear()  # the ended state below replaces every row
                writes.deletes.clear()
            if result.deleted_workflows:
                gone = select(EngineTask.id).where(
                    EngineTask.case_id == case.id,
                    EngineTask.workflow.in_(result.deleted_workflows)).scalar_subquery()
                session.execute(delete(PendingTimer).where(
                    PendingTimer.case_id == case.id, PendingTimer.task_id.in_(gone)))
                self._cancel_work_items(case, WorkItem.id.in_(gone))
                session.execute(delete(EngineTask).where(
                    EngineTask.case_id == case.id,
                    EngineTask.workflow.in_(result.deleted_workflows)
                    | EngineTask.id.in_([ENVELOPE_PREFIX + k for k in result.deleted_workflows])))
            if result.deleted_human:
                self._cancel_work_items(case, WorkItem.id.in_(result.deleted_human))
            connection = session.connection()
            if result.ended is not None:
                # An ended case keeps only what its final variables are read from (the audit
                # log holds its history): every row it had is replaced by the ended state.
                envelope, kept = result.ended
                connection.execute(_DELETE_CASE_TASKS, {"case_id": case.id})
                connection.execute(_INSERT_TASKS, [
                    {"case_id": case.id, "id": i, "workflow": w, "body": b} for i, w, b in kept])
                case.envelope = envelope
            else:
                # Under the case's lock the rows wait for the case's UPDATE (``_write_case``),
                # a later step of the same lock overwriting an earlier one's.
                deferred = writes is not None
                writes = writes if writes is not None else _TaskWrites()
                for task_id in result.deletes:
                    writes.upserts.pop(task_id, None)
                    writes.deletes.add(task_id)
                for task_id, workflow, body in result.upserts:
                    writes.deletes.discard(task_id)
                    writes.upserts[task_id] = (workflow, body)
                if not deferred:
                    self._write_tasks(connection, case.id, writes)
                case.envelope = result.envelope
            # Steward and supervision tasks go to the case's named people (its team).
            assign_new_tasks(case, result.human)
            created = self._sync_work_items(case, result, context or {}, completion)
            self._sync_timers(case, result)
        return created

    @staticmethod
    def _write_tasks(connection: Any, case_id: str, writes: _TaskWrites) -> None:
        """Engine rows as their own statements (SQLite; a step outside a case's lock)."""
        if writes.deletes:
            connection.execute(_DELETE_TASKS, {"case_id": case_id, "ids": sorted(writes.deletes)})
        if writes.upserts:
            connection.execute(
                _upsert(connection.dialect.name, _TASKS, ("case_id", "id"), ("workflow", "body")),
                [{"case_id": case_id, "id": i, "workflow": w, "body": b}
                 for i, (w, b) in writes.upserts.items()])

    def _cancel_work_items(self, case: Case, which: Any) -> None:
        """Close open work items whose engine task vanished (a cancelled subprocess)."""

        items = db.session.execute(select(WorkItem).where(
            WorkItem.case_id == case.id, WorkItem.state == "ready", which)).scalars().all()
        for item in items:
            item.state = "cancelled"
            record_event(case, "task_cancelled", actor=None, task_id=item.id,
                         element_id=item.element_id, element_name=item.name)
        if items:
            db.session.connection().execute(_CLOSE_GROUPS, {"ids": [i.id for i in items]})

    def _sync_work_items(self, case: Case, result: StepResult, context: dict[str, Any],
                         completion: Completion | None) -> list[str]:
        if not result.human:
            return []

        connection = db.session.connection()
        created: list[dict[str, Any]] = []
        closed: dict[str, list[str]] = {}
        context_json = json.dumps(context, ensure_ascii=False, default=str)
        now = clock.now()
        for human in result.human:
            if human.state != "ready":
                closed.setdefault(human.state, []).append(human.id)
                continue
            item_data = human.data.get("item")
            row_context = context_json
            if isinstance(item_data, dict):
                # A department's task belongs to one approval item: lists name it.
                row_context = json.dumps({**context, "item": {
                    k: item_data[k] for k in ("code", "name", "department")
                    if k in item_data}}, ensure_ascii=False, default=str)
            created.append({
                "id": human.id, "case_id": case.id, "element_id": human.element_id,
                "name": human.name, "lane": human.lane or "",
                "form_key": human.form_key or "",
                "candidate_groups": ",".join(human.candidate_groups),
                "assignee": human.assignee, "claimed_by": None, "state": "ready",
                "stage": str(human.properties.get("stage", "")), "due_at": human.due_at,
                "due_provisional": is_provisional(now, human.due_at),
                "created_at": now, "completed_at": None, "completed_by": None,
                "draft": None, "context": row_context, "county": case.county,
            })
        if created:
            # Plain inserts, not ORM objects: no flush in the middle of the step.
            connection.execute(_INSERT_ITEMS, created)
            self.note_items((row["id"], case.id) for row in created)
            groups = [{"work_item_id": row["id"], "group_code": code, "state": "ready",
                       "county": case.county}
                      for row in created for code in human_groups(row)]
            if groups:
                connection.execute(_INSERT_GROUPS, groups)
        # A task is reported closed once, in the step that closed it; only an open row moves.
        for state, item_ids in closed.items():
            values: dict[str, Any] = {"state": state}
            if completion is not None and state == "completed" and completion.task_id in item_ids:
                if len(item_ids) > 1:
                    others = [i for i in item_ids if i != completion.task_id]
                    self._close_items(connection, others, {"state": state})
                    item_ids = [completion.task_id]
                values.update(completed_by=completion.username, completed_at=completion.at,
                              draft=None)
            self._close_items(connection, item_ids, values)
        return [row["id"] for row in created]

    @staticmethod
    def _close_items(connection: Any, item_ids: list[str], values: dict[str, Any]) -> None:
        completing = "completed_by" in values
        if connection.dialect.name == "postgresql":
            # One statement: the items, and the groups' offers of the items it closed.
            connection.execute(_close_items_and_groups(completing), {"ids": item_ids, **values})
        else:
            connection.execute(_COMPLETE_ITEMS if completing else _CLOSE_ITEMS,
                               {"ids": item_ids, **values})
            connection.execute(_CLOSE_GROUPS, {"ids": item_ids})
        # The session's copies (the item a person just completed) show what was written.
        session = db.session
        for item_id in item_ids:
            item = session.identity_map.get(session.identity_key(WorkItem, item_id))
            if item is not None and item.state == "ready":
                for key, value in values.items():
                    set_committed_value(item, key, value)

    def _after_step(self, live: LiveCase) -> None:
        """Give the timers this lock's steps started their lawful instants (office minutes),
        before the case is written."""
        started = self._started_timers.pop(live.case.id, [])
        if started:
            align_office_time_timers(live, started, engine=self.engine, save=self.save)
            # The rescheduled timers were saved again; they need no second alignment.
            self._started_timers.pop(live.case.id, None)

    def _sync_timers(self, case: Case, result: StepResult) -> None:
        # Only under the case lock (``_after_step`` consumes them before the case is written).
        if case.id in self._locks_held:
            for timer in result.timers:
                if timer.element_id in OFFICE_TIME_TIMERS:
                    self._started_timers.setdefault(case.id, []).append(timer)
        if result.timers_gone:
            db.session.connection().execute(
                _DELETE_TIMERS, {"case_id": case.id, "ids": result.timers_gone})
        if not result.timers:
            return
        # A timer task starts waiting once, so these are new rows; the upsert keeps a re-run
        # of the same step harmless.
        timers = _upsert(db.engine.dialect.name, _TIMERS, ("case_id", "task_id"),
                         ("element_id", "due_at", "state"))
        db.session.connection().execute(timers, [
            {"case_id": case.id, "task_id": t.task_id, "element_id": t.element_id,
             "due_at": t.due_at, "state": "pending"}
            for t in result.timers])


_CASES = Case.__table__
_CASE_COLUMNS = tuple(c.key for c in _CASES.columns if c.key not in {"id", "state_version"})
_ITEMS = WorkItem.__table__
_GROUPS = WorkItemGroup.__table__
_TASKS = EngineTask.__table__
_INSERT_ITEMS = insert_rows(_ITEMS)
_INSERT_GROUPS = insert_rows(_GROUPS)
_CLOSE_ITEMS = update(_ITEMS).where(
    _ITEMS.c.id.in_(bindparam("ids", expanding=True)), _ITEMS.c.state == "ready"
).values(state=bindparam("state"))
_COMPLETE_ITEMS = _CLOSE_ITEMS.values(completed_by=bindparam("completed_by"),
                                      completed_at=bindparam("completed_at"), draft=None)
# A closed item is offered to nobody: its groups' rows go (no list reads them; issue 18's
# bytes per case).
_CLOSE_GROUPS = delete(_GROUPS).where(_GROUPS.c.work_item_id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _close_items_and_groups(completing: bool) -> Any:
    """PostgreSQL: close the open items and, in the same statement, delete their groups'
    rows."""
    closed = (_COMPLETE_ITEMS if completing else _CLOSE_ITEMS).returning(_ITEMS.c.id).cte(
        "closed")
    return delete(_GROUPS).where(_GROUPS.c.work_item_id.in_(select(closed.c.id)))


_TIMERS = PendingTimer.__table__
_DELETE_TIMERS = delete(_TIMERS).where(_TIMERS.c.case_id == bindparam("case_id"),
                                       _TIMERS.c.task_id.in_(bindparam("ids", expanding=True)))
_DELETE_CASE_TASKS = delete(_TASKS).where(_TASKS.c.case_id == bindparam("case_id"))
_INSERT_TASKS = insert_rows(_TASKS)
_DELETE_TASKS = delete(_TASKS).where(_TASKS.c.case_id == bindparam("case_id"),
                                     _TASKS.c.id.in_(bindparam("ids", expanding=True)))


@functools.lru_cache(maxsize=256)
def _case_update(changed: tuple[str, ...]) -> Any:
    """The case's versioned UPDATE of these columns: built once per set of changed columns
    (a step changes the same few), so SQLAlchemy's compiled form is found without building
    and hashing a new statement every step."""
    return update(_CASES).where(
        _CASES.c.id == bindparam("case_id"), _CASES.c.state_version == bindparam("read_version")
    ).values({key: bindparam(f"new_{key}", type_=_CASES.c[key].type)
              for key in (*changed, "state_version")})


@functools.lru_cache(maxsize=256)
def _case_update_with_tasks(changed: tuple[str, ...], deletes: bool, upserts: bool) -> Any:
    """PostgreSQL: the case's versioned UPDATE that also deletes the step's vanished engine
    rows and upserts its changed ones (data-modifying CTEs: one statement, one round trip;
    the rows come as one JSON array, so the text is the same however many a step changes;
    an array parameter per column would have psycopg escape every quote of the bodies in
    Python)."""
    statement = _case_update(changed)
    ctes = []
    if deletes:
        ctes.append(delete(_TASKS).where(
            _TASKS.c.case_id == bindparam("case_id"),
            _TASKS.c.id == any_(bindparam("gone_ids", type_=ARRAY(String)))).cte("gone_tasks"))
    if upserts:
        rows = func.json_to_recordset(cast(bindparam("task_rows", type_=Text), JSON)).table_valued(
            column("id", String), column("workflow", String), column("body", Text)
        ).render_derived(with_types=True)
        insert = pg_insert(_TASKS).from_select(
            ["case_id", "id", "workflow", "body"],
            select(bindparam("case_id", type_=String), rows.c.id, rows.c.workflow,
                   rows.c.body))
        ctes.append(insert.on_conflict_do_update(
            index_elements=["case_id", "id"],
            set_={"workflow": insert.excluded.workflow, "body": insert.excluded.body}
        ).cte("kept_tasks"))
    return statement.add_cte(*ctes) if ctes else statement


@dataclass(frozen=True)
class Completion:
    """Who completed which task, and when: written onto its work item as it closes."""

    task_id: str
    username: str
    at: datetime


@functools.cache
def _upsert(dialect: str, table: Table, keys: tuple[str, ...], updated: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE of ``updated``: built once, run with many rows."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: stmt.excluded[c] for c in updated})


def human_groups(row: dict[str, Any]) -> list[str]:
    return [g for g in str(row["candidate_groups"]).split(",") if g]


def case_store() -> CaseStore:
    store: CaseStore = current_app.extensions["guanjia.store"]
    return store


def with_retries(step: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a locked step again when another process committed first (SQLite, workers)."""
    for attempt in range(MAX_RETRIES):
        try:
            return step(*args, **kwargs)
        except SettledConflictError:
            raise
        except ConflictError:
            if attempt == MAX_RETRIES - 1:
                raise
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == MAX_RETRIES - 1:
                raise
    raise AssertionError("unreachable")
