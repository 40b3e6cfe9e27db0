"""The append-only audit log: one row per state change, written with the change itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import HexDigest, UTCDateTime


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[str | None] = mapped_column(String(36))
    case_seq: Mapped[int | None] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str | None] = mapped_column(String(80))
    role: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Both stored as raw bytes, read as hex (HexDigest; old hex-text rows read unchanged).
    leaf_hash: Mapped[str] = mapped_column(HexDigest)
    # Keyed MAC chaining the event to its predecessor (server.ledger.chain); outside the leaf.
    mac: Mapped[str | None] = mapped_column(HexDigest)

    __table_args__ = (Index("ix_audit_events_case", "case_id", "case_seq", unique=True),)

    def as_record(self) -> dict[str, Any]:
        """The event as the ledger hashes it (see ``server.ledger.canonical``)."""
        return event_record({name: getattr(self, name) for name in RECORD_FIELDS})


RECORD_FIELDS = ("seq", "case_id", "case_seq", "type", "actor", "role", "at", "task_id",
                 "element_id", "element_name", "payload", "leaf_hash")


def event_record(values: Mapping[str, Any]) -> dict[str, Any]:
    """An event's record from its column values (a loaded row or one about to be written)."""
    record = {name: values.get(name) for name in RECORD_FIELDS}
    record["at"] = values["at"].isoformat()
    return record
