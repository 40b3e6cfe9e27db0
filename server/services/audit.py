"""Writing audit events: in the caller's transaction, hashed, numbered per case, chained.

There is no update or delete path for audit rows anywhere in the code; on PostgreSQL a
trigger refuses them as well (see the migrations).

Events wait in the session until the transaction commits (or until something in it reads
the audit log) and then go to the database in one multi-row INSERT: a task completion
writes its three or four events in one round trip, and a rollback takes them with it.

Each event of a case gets its MAC in the case's keyed chain (``server.ledger.chain``) as it is
recorded, and the case row carries the chain's anchor, written in the step's one UPDATE of
the case: no extra statement. Events of no case (deployments, notices) chain in the
``ledger_heads`` row of their pseudo case, read locked and rewritten just before the INSERT.
"""

from __future__ import annotations

import functools
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import event, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.util import find_tables

from server.engine import clock
from server.extensions import db
from server.ledger import chain
from server.ledger.canonical import canonical_event_bytes, leaf_hash
from server.models import AuditEvent, Case
from server.models.audit import event_record
from server.models.checkpoints import LedgerHead

_PENDING = "guanjia.audit_rows"
_SEAL = "guanjia.cases_to_seal"
_HEADS = "guanjia.ledger_heads"  # scope -> chain.Head, valid while the transaction holds the lock
_TABLE = AuditEvent.__table__
_HEAD_TABLE = LedgerHead.__table__
KEY_FILE = "audit.key"


class MissingKeyError(RuntimeError):
    """No audit key is configured and the instance folder holds none: nothing can be checked."""


def resolve_key(checkpoint_key: str, instance_dir: Path, *, create: bool) -> str:
    """The audit key: the configured one, else the instance folder's ``audit.key``.

    The key must outlive the process (the chain is verified years later), so a key generated
    for an embedded installation is kept in its instance folder, readable by its owner only.
    ``create`` makes one when missing (writers); verifiers pass ``False`` and get
    ``MissingKeyError`` instead of a fresh key under which all history would look forged.
    """
    if checkpoint_key:
        return checkpoint_key
    path = instance_dir / KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            raise MissingKeyError(
                f"no audit key: set GUANJIA_CHECKPOINT_KEY or GUANJIA_SECRET_KEY, or restore "
                f"{path}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="ascii").strip()


def audit_key(*, create: bool = True) -> str:
    """This installation's audit key (see ``resolve_key``); cached per app."""
    cached: str | None = current_app.extensions.get("guanjia.audit_key")
    if cached is None:
        settings = current_app.config["GUANJIA"]
        cached = resolve_key(settings.checkpoint_key, Path(settings.instance_dir), create=create)
        current_app.extensions["guanjia.audit_key"] = cached
    return cached


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
    leaf = row["leaf_hash"] = leaf_hash(canonical_event_bytes(record))
    if case is not None and case_seq is not None:
        key = chain.chain_key(audit_key())
        row["mac"] = chain.event_mac(key, case.id, case_seq, case.ledger_leaf or "", leaf)
        case.ledger_leaf = leaf
        case.ledger_mac = chain.head_mac(key, case.id, case_seq, leaf)
    session = db.session()
    session.info.setdefault(_PENDING, []).append(row)
    if type_ == "case_ended" and case is not None:
        session.info.setdefault(_SEAL, []).append(case.id)
    return record


def hashed_record(event: AuditEvent) -> dict[str, Any]:
    """The fields a stored event's leaf hash covers (everything but ``seq`` and the hash)."""
    record = event.as_record()
    record.pop("seq")
    record.pop("leaf_hash")
    return record


def write_pending_events(session: Session) -> None:
    """Insert the events recorded in this transaction so far (in the order recorded), each
    with its MAC in its scope's chain, and rewrite those scopes' anchors."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        _chain(session, rows)
        session.execute(insert(_TABLE), rows)


def _chain(session: Session, rows: list[dict[str, Any]]) -> None:
    """MACs for events of no case (those of a case got theirs in ``record_event``)."""
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["case_id"] is None:
            by_scope.setdefault(chain.NO_CASE, []).append(row)
    if not by_scope:
        return
    key = chain.chain_key(audit_key())
    heads: dict[str, chain.Head] = session.info.setdefault(_HEADS, {})
    unknown = sorted(s for s in by_scope if s not in heads)
    if unknown:
        # Locked until the transaction ends: a case is locked by its step already; events of
        # no case (deployments, notices) queue here, which keeps their chain in seq order.
        found = session.execute(select(_HEAD_TABLE).where(_HEAD_TABLE.c.scope.in_(unknown))
                                .order_by(_HEAD_TABLE.c.scope).with_for_update()).mappings()
        for r in found:
            heads[r["scope"]] = chain.Head(r["count"], r["last_leaf"], r["mac"])
        if chain.NO_CASE not in heads:
            # The first such event since the chain began: any before it predate the chain
            # and are adopted as a prefix (server.ledger.chain); the chain starts after them.
            before = session.execute(select(func.count()).select_from(_TABLE)
                                     .where(_TABLE.c.case_id.is_(None))).scalar_one()
            heads[chain.NO_CASE] = chain.Head(before, "", "")
    written = []
    for scope, mine in by_scope.items():
        macs, head = chain.extend(key, scope, heads.get(scope), [r["leaf_hash"] for r in mine])
        for row, mac in zip(mine, macs, strict=True):
            row["mac"] = mac
        heads[scope] = head
        written.append({"scope": scope, "count": head.count, "last_leaf": head.last_leaf,
                        "mac": head.mac})
    session.execute(_upsert_heads(session.get_bind().dialect.name), written)


@functools.cache
def _upsert_heads(dialect: str) -> Any:
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(_HEAD_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=["scope"], set_={c: stmt.excluded[c] for c in ("count", "last_leaf", "mac")})


def take_cases_ending(session: Session) -> list[str]:
    """The cases that recorded ``case_ended`` in this transaction (each once taken).

    The ledger seals them in the same transaction, at commit (``server.services.ledger``).
    """
    ending: list[str] = session.info.pop(_SEAL, None) or []
    return ending


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Registered before the ledger's sealing (it imports this module), so it runs first.
    write_pending_events(session)


@event.listens_for(Session, "do_orm_execute")
def _before_reading_the_log(state: ORMExecuteState) -> None:
    # A query of the audit log inside the transaction that wrote events sees them.
    if state.is_select and state.session.info.get(_PENDING) and _TABLE in _tables_of(
            state.statement):
        write_pending_events(state.session)


def _tables_of(statement: Any) -> set[Any]:

    return set(find_tables(statement, include_joins=False, include_selects=True))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    for name in (_PENDING, _HEADS, _SEAL):
        session.info.pop(name, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_HEADS, None)
