"""What a county and its people set for the workspace: which form fields stay internal, and
each user's saved task-list filters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class FieldVisibility(db.Model):  # type: ignore[name-defined,misc]
    """The county's choice for one form field: internal (staff only) or shown to the
    enterprise too. A field without a row keeps its form's ``properties.visibility``."""

    __tablename__ = "field_visibility"
    form_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    field_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedFilter(db.Model):  # type: ignore[name-defined,misc]
    """One user's named task-list filter (the list's query string)."""

    __tablename__ = "saved_filters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_saved_filters_user", "username"),)
