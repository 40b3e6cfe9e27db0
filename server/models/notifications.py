"""Notifications people see in the app (and may receive by e-mail), and where mail goes.

A notice is stored once with its audience (issue 18): the named users, and the groups it was
sent to with the county they are scoped to. A person's inbox is the notices whose audience
includes them, evaluated when they look (``server.services.notifications``). Rows per person
(``notifications``) exist only for what is theirs alone: the read mark, written when they
read it, and the mail delivery, written at once for people who gave a mail address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow

# Checked in Python only (the column is a plain string): a new kind needs no migration.
KINDS = ("new_task", "warning", "overdue", "result_ready", "urging", "reassigned",
         "policy")

NO_TASK = text("task_id IS NULL")
KEYED = text("dedupe_key IS NOT NULL")


class Notice(db.Model):  # type: ignore[name-defined,misc]
    """What a notification says and to whom, stored once however many people receive it.

    ``dedupe_key`` names the notice: notifying again with the same key reaches only the
    people who do not have it yet, with the notice as first written. The new-task notice a
    step writes for each task it opens has no key, no words and no case: it is written in the
    same transaction as its task's ``work_items`` row, whose primary key already makes it one
    per task (a repeated step fails on it as a whole), the row names its case, and its title
    and body are rendered from the task and the case (``notifications.new_task_words``).
    """

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    # None: rendered from the task and its case (a step's new-task notice).
    title: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    # No index: nothing looks notices up by case (cases are never deleted). None for a
    # step's new-task notice: its task's case (``notifications.case_of``).
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The audience, space-separated: the users named, and the groups meant in ``county``
    # (None: every county's members); the enterprise group is the case's enterprise only.
    users: Mapped[str | None] = mapped_column(Text)
    groups: Mapped[str | None] = mapped_column(String(500))
    county: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        Index("uq_notices_dedupe_key", "dedupe_key", unique=True,
              sqlite_where=KEYED, postgresql_where=KEYED),
        # The header badge (0034_inbox_index): each open task's notices, by task (a hash
        # index on PostgreSQL: a third of a B-tree of the 36-character ids; equality is all
        # it is asked), and the notices about no task, the few that are not a task's.
        Index("ix_notices_task", "task_id", postgresql_using="hash"),
        Index("ix_notices_no_task", "created_at", sqlite_where=NO_TASK,
              postgresql_where=NO_TASK),
        # The inbox page, newest first: read in order, it stops when the page is full. Ties
        # of a time are in id order from the index (SQLite: the rowid ends every index;
        # PostgreSQL sorts within a time).
        Index("ix_notices_created", "created_at"),
    )


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """One person's row about a notice: their read mark and, if they gave a mail address,
    the mail's delivery. Written when they read it, or at once when it is to be mailed."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(80))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # none: in-app only | pending: to be mailed | sent | failed (an incident says why)
    email_state: Mapped[str] = mapped_column(String(20), default="none")
    email_to: Mapped[str | None] = mapped_column(String(200))
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice: Mapped[Notice] = relationship()

    __table_args__ = (
        UniqueConstraint("username", "notice_id", name="uq_notifications_user_notice"),
        # Only mail still waiting is looked up by state (``mail_waiting``).
        Index("ix_notifications_mail_pending", "id",
              sqlite_where=text("email_state = 'pending'"),
              postgresql_where=text("email_state = 'pending'")),
    )



class MailAddress(db.Model):  # type: ignore[name-defined,misc]
    """Where a user's notifications are mailed; a user without a row gets them in-app only."""

    __tablename__ = "mail_addresses"
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    address: Mapped[str] = mapped_column(String(200))
