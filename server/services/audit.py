"""Writing audit events: in the caller's transaction, hashed, numbered per case.

There is no update or delete path for audit rows anywhere in the code; on PostgreSQL a
trigger refuses them as well (see the migrations).

Events wait in the session until the transaction commits (or until something in it reads
the audit log) and then go to the database in one multi-row INSERT: a task completion
writes its three or four events in one round trip, and a rollback takes them with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import ORMExecuteState, Session

from server.engine import clock
from server.extensions import db
from server.ledger.canonical import canonical_event_bytes, leaf_hash
from server.models import AuditEvent, Case
from server.models.audit import event_record

_PENDING = "guanjia.audit_rows"
_TABLE = AuditEvent.__table__


def record_event(
    case: Case | None,
    type_: str,
    *,
    actor: str | None,
    role: str | None = None,
    task_id: str | None = None,
    element_id: str | None = None,
    element_name: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Add one audit event to the caller's transaction; returns its record (without seq)."""
    case_seq = None
    if case is not None:
        case.event_count = (case.event_count or 0) + 1
        case_seq = case.event_count
    row: dict[str, Any] = {
        "case_id": case.id if case is not None else None, "case_seq": case_seq, "type": type_,
        "actor": actor, "role": role, "at": at or clock.now(), "task_id": task_id,
        "element_id": element_id, "element_name": element_name, "payload": payload or {},
    }
    # seq is assigned by the database; the leaf covers everything the actor decided.
    record = event_record(row)
    del record["seq"], record["leaf_hash"]
    row["leaf_hash"] = leaf_hash(canonical_event_bytes(record))
    db.session().info.setdefault(_PENDING, []).append(row)
    return record


def hashed_record(event: AuditEvent) -> dict[str, Any]:
    """The fields a stored event's leaf hash covers (everything but ``seq`` and the hash)."""
    record = event.as_record()
    record.pop("seq")
    record.pop("leaf_hash")
    return record


def write_pending_events(session: Session) -> None:
    """Insert the events recorded in this transaction so far (in the order recorded)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.execute(insert(_TABLE), rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending_events(session)


@event.listens_for(Session, "do_orm_execute")
def _before_reading_the_log(state: ORMExecuteState) -> None:
    # A query of the audit log inside the transaction that wrote events sees them.
    if state.is_select and state.session.info.get(_PENDING) and _TABLE in _tables_of(
            state.statement):
        write_pending_events(state.session)


def _tables_of(statement: Any) -> set[Any]:
    from sqlalchemy.sql.util import find_tables

    return set(find_tables(statement, include_joins=False, include_selects=True))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
