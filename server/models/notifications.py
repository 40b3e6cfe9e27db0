"""Notifications people see in the app (and may receive by e-mail), and where mail goes.

A notification is one row per recipient. ``dedupe_key`` makes sending idempotent: the same
warning or new-task notice delivered twice (at-least-once workers, a second sweep) finds its
row already there and adds nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow

# Checked in Python only (the column is a plain string): a new kind needs no migration.
KINDS = ("new_task", "warning", "overdue", "result_ready", "urging", "reassigned",
         "policy")


class Notification(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    # No index: nothing looks notices up by case (cases are never deleted).
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # none: in-app only | pending: to be mailed | sent | failed (an incident says why)
    email_state: Mapped[str] = mapped_column(String(20), default="none")
    email_to: Mapped[str | None] = mapped_column(String(200))
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("username", "dedupe_key", name="uq_notifications_user_dedupe"),
        Index("ix_notifications_user_read", "username", "read_at"),
        # Only notices waiting for their mail are looked up by state (``mail_waiting``): a
        # partial index holds those, not every in-app notice.
        Index("ix_notifications_mail_pending", "created_at",
              sqlite_where=text("email_state = 'pending'"),
              postgresql_where=text("email_state = 'pending'")),
    )


class MailAddress(db.Model):  # type: ignore[name-defined,misc]
    """Where a user's notifications are mailed; a user without a row gets them in-app only."""

    __tablename__ = "mail_addresses"
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    address: Mapped[str] = mapped_column(String(200))
