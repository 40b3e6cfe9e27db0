"""Designers' unsaved work: a draft of one file, kept until it is deployed or discarded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class DesignDraft(db.Model):  # type: ignore[name-defined,misc]
    """One designer's draft of one file (``concierge_service.bpmn``, ``review.form``)."""

    __tablename__ = "design_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    author: Mapped[str] = mapped_column(String(80))
    content: Mapped[str] = mapped_column(Text)
    # The deployment the draft was opened from, so a reviewer sees what it changes.
    base_deployment: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("author", "name"),)
