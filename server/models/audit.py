"""The append-only audit log: one row per state change, written with the change itself.

A step that opens several tasks of one element at once (a multi-instance fan-out: ten
departments' sheets, ten co-signers) records them as one ``tasks_created`` event listing the
task ids, instead of ten ``task_created`` rows that repeat the element, time, actor and groups:
the log is the biggest table per case. :func:`opened_tasks` reads either shape back as one
``(task id, payload)`` per task; every reader of task openings goes through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    def opened(self) -> list[tuple[str, dict[str, Any]]]:
        """The tasks this event opened (see :func:`opened_tasks`)."""
        return opened_tasks(self.type, self.task_id, self.payload)

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


#: One task opened: ``task_id`` its column, payload ``candidate_groups`` (and ``assignee``,
#: ``due_at`` when it has them).
TASK_CREATED = "task_created"
#: Several tasks of one element opened in one step: ``task_id`` empty, payload ``task_ids`` in
#: order, the fields all of them share as in ``task_created``, and under ``per_task`` (by task
#: id) the fields that differ between them.
TASKS_CREATED = "tasks_created"
_FAN_OUT_KEYS = ("task_ids", "per_task")


def fan_out_payload(openings: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The ``tasks_created`` payload of ``(task id, task_created payload)`` pairs (two or more,
    of one element, in one step). :func:`opened_tasks` gives the pairs back exactly."""
    keys = list(dict.fromkeys(k for _, opened in openings for k in opened))
    first = openings[0][1]
    shared = [k for k in keys if all(k in o and o[k] == first[k] for _, o in openings)]
    payload: dict[str, Any] = {"task_ids": [task_id for task_id, _ in openings]}
    payload.update((k, first[k]) for k in shared)
    per_task = {task_id: {k: v for k, v in opened.items() if k not in shared}
                for task_id, opened in openings}
    if any(per_task.values()):
        payload["per_task"] = {t: own for t, own in per_task.items() if own}
    return payload


def opened_tasks(type_: str, task_id: str | None,
                 payload: Mapping[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The tasks an event opened, each ``(task id, payload in the task_created shape)``.

    One pair for ``task_created``, one per listed task for ``tasks_created`` (in the order the
    engine opened them), none for any other event. Never raises for a malformed payload.
    """
    payload = payload if isinstance(payload, Mapping) else {}
    if type_ == TASK_CREATED:
        return [(task_id, dict(payload))] if task_id else []
    if type_ != TASKS_CREATED:
        return []
    shared = {k: v for k, v in payload.items() if k not in _FAN_OUT_KEYS}
    per_task = payload.get("per_task")
    per_task = per_task if isinstance(per_task, Mapping) else {}
    ids = payload.get("task_ids")
    out = []
    for t in ids if isinstance(ids, list) else []:
        own = per_task.get(t)
        out.append((str(t), {**shared, **(own if isinstance(own, Mapping) else {})}))
    return out
