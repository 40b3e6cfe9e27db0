"""Writing audit events: in the caller's transaction, hashed, numbered per case.

There is no update or delete path for audit rows anywhere in the code; on PostgreSQL a
trigger refuses them as well (see the migrations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.engine import clock
from server.extensions import db
from server.ledger.canonical import canonical_event_bytes, leaf_hash
from server.models import AuditEvent, Case


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
) -> AuditEvent:
    """Add one audit event to the session (the caller commits it with the change)."""
    case_seq = None
    if case is not None:
        case.event_count = (case.event_count or 0) + 1
        case_seq = case.event_count
    event = AuditEvent(
        case_id=case.id if case is not None else None, case_seq=case_seq, type=type_,
        actor=actor, role=role, at=at or clock.now(), task_id=task_id,
        element_id=element_id, element_name=element_name, payload=payload or {},
    )
    # seq is assigned by the database; the leaf covers everything the actor decided.
    event.leaf_hash = leaf_hash(canonical_event_bytes(hashed_record(event)))
    db.session.add(event)
    return event


def hashed_record(event: AuditEvent) -> dict[str, Any]:
    """The fields a leaf hash covers (everything but ``seq`` and the hash itself)."""
    record = event.as_record()
    record.pop("seq")
    record.pop("leaf_hash")
    return record
