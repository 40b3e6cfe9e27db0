"""Signed checkpoints of the audit log: a tree size and Merkle root per scope, signed.

A checkpoint row is exactly the dict ``server.ledger.checkpoint`` signs, split into columns, so
``as_checkpoint`` gives back the bytes-for-bytes signed object. ``scope`` is ``"log"`` (the whole
audit log, in ``seq`` order) or a case id (that case's events, in ``case_seq`` order).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime


class Checkpoint(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), index=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(128))
    algorithm: Mapped[str] = mapped_column(String(16))
    sig_alg: Mapped[str] = mapped_column(String(20))
    key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_at: Mapped[str] = mapped_column(String(40))  # the exact "at" text the signature covers
    # Version 2: the digest of the scope's previous checkpoint (signed), "" for the first.
    prev: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("scope", "tree_size", name="uq_checkpoints_scope_size"),)

    def as_checkpoint(self) -> dict[str, Any]:
        """The signed checkpoint dict (see ``server.ledger.checkpoint``)."""
        cp: dict[str, Any] = {
            "version": 2 if self.prev is not None else 1, "scope": self.scope,
            "tree_size": self.tree_size, "root": self.root,
            "hash": self.algorithm, "at": self.signed_at, "sig_alg": self.sig_alg,
            "key_id": self.key_id, "signature": self.signature,
        }
        if self.public_key:
            cp["public_key"] = self.public_key
        if self.prev is not None:
            cp["prev"] = self.prev
        return cp


class LedgerHead(db.Model):  # type: ignore[name-defined,misc]
    """The anchor of one scope of the audit chain (a case id, or ``~log`` for events of no
    case): rewritten with every write, MAC'd with the audit key (``server.ledger.chain``)."""

    __tablename__ = "ledger_heads"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    last_leaf: Mapped[str] = mapped_column(String(128))
    mac: Mapped[str] = mapped_column(String(64))
