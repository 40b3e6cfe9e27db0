"""Notifications people see in the app (and may receive by e-mail), and where mail goes.

A notice's words are stored once (``notices``); each recipient has a small row with the read
mark and mail state (``notifications``), read together as ``Notification``. ``dedupe_key``
makes sending idempotent: the same warning or new-task notice delivered twice (at-least-once
workers, a second sweep) finds its rows already there and adds nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    join,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow

# Checked in Python only (the column is a plain string): a new kind needs no migration.
KINDS = ("new_task", "warning", "overdue", "result_ready", "urging", "reassigned",
         "policy")


class Notice(db.Model):  # type: ignore[name-defined,misc]
    """What a notification says, stored once however many people receive it (issue 18).

    ``dedupe_key`` names the notice: notifying again with the same key reaches only the
    people who do not have it yet, with the notice as first written.
    """

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    # No index: nothing looks notices up by case (cases are never deleted).
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_recipients = Table(
    "notifications", db.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", Integer, ForeignKey("notices.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(80), nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    # none: in-app only | pending: to be mailed | sent | failed (an incident says why)
    Column("email_state", String(20), nullable=False, default="none"),
    Column("email_to", String(200), nullable=True),
    Column("emailed_at", UTCDateTime, nullable=True),
    UniqueConstraint("username", "notice_id", name="uq_notifications_user_notice"),
    Index("ix_notifications_user_read", "username", "read_at"),
    # Only notices waiting for their mail are looked up by state (``mail_waiting``): a
    # partial index holds those, not every in-app notice.
    Index("ix_notifications_mail_pending", "id",
          sqlite_where=text("email_state = 'pending'"),
          postgresql_where=text("email_state = 'pending'")),
)


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """One person's copy of a notice: the notice's words with this person's read mark and
    mail state. Mapped over both tables, so it reads (and queries) as one row per recipient;
    only the per-person columns are ever changed through it."""

    __table__ = join(_recipients, Notice.__table__,
                     _recipients.c.notice_id == Notice.__table__.c.id)
    __mapper_args__ = {"primary_key": [_recipients.c.id]}
    id = column_property(_recipients.c.id)
    notice_id = column_property(_recipients.c.notice_id, Notice.__table__.c.id)
    username: Mapped[str]
    kind: Mapped[str]
    title: Mapped[str]
    body: Mapped[str]
    case_id: Mapped[str | None]
    task_id: Mapped[str | None]
    dedupe_key: Mapped[str]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    email_state: Mapped[str]
    email_to: Mapped[str | None]
    emailed_at: Mapped[datetime | None]


RECIPIENTS = _recipients


class MailAddress(db.Model):  # type: ignore[name-defined,misc]
    """Where a user's notifications are mailed; a user without a row gets them in-app only."""

    __tablename__ = "mail_addresses"
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    address: Mapped[str] = mapped_column(String(200))
