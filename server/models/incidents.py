"""Incidents: a background step that kept failing after its retries, kept for a person to see.

An incident is how a failure stays visible instead of silent: the case is not lost (its step
rolled back), the error and the attempts are written down, and ``retry`` sends the step again.
``key`` names the step (task name and its ids), so a repeated failure updates one open row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class Incident(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_name: Mapped[str] = mapped_column(String(200))
    task_args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open|retrying|resolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        Index("ix_incidents_case_state", "case_id", "state"),
        Index("ix_incidents_key_state", "key", "state"),
    )
