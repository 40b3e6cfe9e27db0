"""Notifications: in-app rows for people, mailed over SMTP where they gave an address.

``notify`` joins the caller's transaction (a new task and its notice commit together); mail is
sent by a worker after that commit. Every notice carries a ``dedupe_key``: notifying twice with
the same key adds nothing, which is what makes at-least-once workers safe.
"""

from __future__ import annotations

import functools
import smtplib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.engine import clock
from server.engine.runtime import HumanTask
from server.extensions import db
from server.models import Case, Group, MailAddress, Notice, Notification, User
from server.models.notifications import KINDS, RECIPIENTS
from server.services.background import send_after_commit
from server.services.calendar import default_county
from server.services.errors import ValidationFailedError

SEND_EMAIL = "guanjia.notifications.send_email"
ENTERPRISE = "enterprise"
KIND_LABELS = {"new_task": "新任务", "warning": "到期预警", "overdue": "超期警示",
               "result_ready": "办理结果", "urging": "催办", "reassigned": "转办",
               "policy": "政策推送"}


def recipients(users: Iterable[str] = (), groups: Iterable[str] = (), *,
               case_id: str | None = None, county: str | None = None) -> list[str]:
    """Active usernames among ``users`` and the members of ``groups``.

    The ``enterprise`` group means only the case's own enterprise, never every applicant; for
    a case (or a ``county`` named), a group means its members of that county and of the
    prefecture (``server.services.tenancy``), never another county's.
    """
    names = set(u for u in users if u)
    codes = sorted(set(groups) - {ENTERPRISE})
    if codes:
        members = select(User.username).join(User.groups).where(Group.code.in_(codes))
        county = county or _case_county(case_id)
        if county is not None:
            members = members.where(or_(User.county == county, User.county.is_(None)))
        names.update(db.session.execute(members).scalars())
    if ENTERPRISE in set(groups) and case_id is not None:
        enterprise_id = db.session.execute(
            select(Case.enterprise_id).where(Case.id == case_id)).scalar_one_or_none()
        if enterprise_id is not None:
            names.update(db.session.execute(
                select(User.username).join(User.groups)
                .where(Group.code == ENTERPRISE, User.enterprise_id == enterprise_id)).scalars())
    if not names:
        return []
    return sorted(db.session.execute(
        select(User.username).where(User.username.in_(sorted(names)), User.active)).scalars())


def _case_county(case_id: str | None) -> str | None:
    """The county of case ``case_id`` (its own, else the default); None: no case or no
    county at all (every member of a group is meant)."""
    if case_id is None:
        return None
    own = db.session.execute(select(Case.county).where(Case.id == case_id)).scalar_one_or_none()
    return own or default_county()


def notify(*, kind: str, title: str, dedupe_key: str, body: str = "",
           users: Iterable[str] = (), groups: Iterable[str] = (), case_id: str | None = None,
           task_id: str | None = None, county: str | None = None) -> list[int]:
    """Add one notice per recipient to the caller's transaction; returns the new row ids.

    Recipients who already have a notice with ``dedupe_key`` are left alone. A group reaches
    its members of the case's county (or of ``county``) and of the prefecture only. Mail goes
    out after the caller commits. Raises ``ValidationFailedError`` for an unknown ``kind``.
    """

    if kind not in KINDS:
        raise ValidationFailedError(f"unknown notification kind {kind!r}",
                                    {"kind": [f"one of {', '.join(KINDS)}"]})
    people = recipients(users, groups, case_id=case_id, county=county)
    if not people:
        return []
    mail: dict[str, str] = dict(db.session.execute(
        select(MailAddress.username, MailAddress.address)
        .where(MailAddress.username.in_(people))).all())
    now = clock.now()
    rows = [{"username": u, "kind": kind, "title": title[:300], "body": body,
             "case_id": case_id, "task_id": task_id, "dedupe_key": dedupe_key[:200],
             "created_at": now, "email_state": "pending" if u in mail else "none",
             "email_to": mail.get(u)} for u in people]
    return _insert_notices(rows)


def notify_new_tasks(case: Case, human: Sequence[HumanTask]) -> None:
    """Tell the people who may take each newly opened task (in the step's transaction).

    This runs inside every task completion, so it costs a fixed number of statements per
    step: one lookup of the members of every group concerned, one of mail addresses, one
    insert for all notices.
    """
    opened = [t for t in human if t.state == "ready"]
    if not opened:
        return
    codes = sorted({g for t in opened if not t.assignee for g in t.candidate_groups})
    directory = _directory()
    members: dict[str, set[str]] = {code: directory.members.get(code, set())
                                    for code in codes if code != ENTERPRISE}
    if ENTERPRISE in codes and case.enterprise_id is not None:
        members[ENTERPRISE] = directory.enterprise_members.get(case.enterprise_id, set())
    # A group is its members of the case's county and of the prefecture (tenancy).
    county = case.county or default_county()
    if county is not None:
        county_of = directory.county_of
        members = {code: {u for u in people if county_of.get(u) in (None, county)}
                   for code, people in members.items()}
    wanted: list[tuple[HumanTask, list[str]]] = []
    for task in opened:
        people = {task.assignee} if task.assignee else set().union(
            *(members.get(code, set()) for code in task.candidate_groups))
        if people:
            wanted.append((task, sorted(people)))
    if not wanted:
        return
    mail = directory.mail
    now = clock.now()
    rows = [{"username": u, "kind": "new_task",
             "title": f"新任务：{task.name}（{case.title}）"[:300],
             "body": f"案件 {case.reference} 有一项新任务“{task.name}”等待办理。",
             "case_id": case.id, "task_id": task.id, "dedupe_key": f"new_task:{task.id}",
             "created_at": now, "email_state": "pending" if u in mail else "none",
             "email_to": mail.get(u)} for task, people in wanted for u in people]
    _insert_notices(rows, want_ids=False)


DIRECTORY_SECONDS = 10.0


@dataclass(frozen=True)
class _Directory:
    """Who is in which group, and who gets mail: read once every few seconds, not per step."""

    at: float
    members: dict[str, set[str]]
    enterprise_members: dict[int, set[str]]
    mail: dict[str, str]
    #: Username → county (None: the prefecture), to keep a group's notices in its county.
    county_of: dict[str, str | None]


def _directory() -> _Directory:
    # Per app: a membership change reaches new-task notices within DIRECTORY_SECONDS.
    extensions = current_app.extensions
    cached: _Directory | None = extensions.get("guanjia.notice_directory")
    now = time.monotonic()
    if cached is not None and now - cached.at < DIRECTORY_SECONDS:
        return cached
    members: dict[str, set[str]] = {}
    enterprise_members: dict[int, set[str]] = {}
    county_of: dict[str, str | None] = {}
    for username, code, enterprise_id, county in db.session.execute(
            select(User.username, Group.code, User.enterprise_id, User.county)
            .join(User.groups).where(User.active)):
        county_of[username] = county
        if code == ENTERPRISE:
            if enterprise_id is not None:
                enterprise_members.setdefault(enterprise_id, set()).add(username)
        else:
            members.setdefault(code, set()).add(username)
    mail = dict(db.session.execute(select(MailAddress.username, MailAddress.address)).all())
    directory = _Directory(now, members, enterprise_members, mail, county_of)
    extensions["guanjia.notice_directory"] = directory
    return directory


def forget_directory() -> None:
    """Who is in which group, or a mail address, changed: drop this app's cached directory."""
    if has_app_context():
        current_app.extensions.pop("guanjia.notice_directory", None)


def _insert_notices(rows: list[dict[str, Any]], *, want_ids: bool = True) -> list[int]:
    """Write each notice once and a recipient row per person; the recipient rows' ids.

    Three statements compiled once per dialect and run with many parameter sets, however many
    people a step's notices reach: the notices (one per ``dedupe_key``, an existing one kept
    as first written), then the recipients who do not have theirs yet. Only rows that will be
    mailed need their new id back (the mail task is queued with it).
    """
    dialect = db.engine.dialect.name
    notices: dict[str, dict[str, Any]] = {}
    for row in rows:
        notices.setdefault(row["dedupe_key"], {k: row[k] for k in _NOTICE_KEYS})
    ids = dict((key, notice_id) for notice_id, key in db.session.execute(
        _notice_upsert(dialect), list(notices.values())).all())
    mailed: list[dict[str, Any]] = []
    quiet: list[dict[str, Any]] = []
    for row in rows:
        person = {"notice_id": ids[row["dedupe_key"]], "username": row["username"],
                  "email_state": row["email_state"], "email_to": row["email_to"]}
        (mailed if row["email_state"] == "pending" else quiet).append(person)
    created: list[int] = []
    if quiet and want_ids:
        created.extend(db.session.execute(_recipient_insert(dialect, returning=True), quiet)
                       .scalars())
    elif quiet:
        db.session.execute(_recipient_insert(dialect, returning=False), quiet)
    if mailed:
        new = list(db.session.execute(_recipient_insert(dialect, returning=True), mailed)
                   .scalars())
        for row_id in new:
            send_after_commit(SEND_EMAIL, [row_id])
        created.extend(new)
    return created


_NOTICES = Notice.__table__
_NOTICE_KEYS = ("kind", "title", "body", "case_id", "task_id", "dedupe_key", "created_at")


@functools.cache
def _notice_upsert(dialect: str) -> Any:
    # A notice already written under the key is kept as it is; the no-op update makes the
    # statement hand back its id all the same.
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(_NOTICES)
    return stmt.on_conflict_do_update(
        index_elements=["dedupe_key"], set_={"dedupe_key": stmt.excluded.dedupe_key}
    ).returning(_NOTICES.c.id, _NOTICES.c.dedupe_key)


@functools.cache
def _recipient_insert(dialect: str, *, returning: bool) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(RECIPIENTS).on_conflict_do_nothing(index_elements=["username", "notice_id"])
    return stmt.returning(RECIPIENTS.c.id) if returning else stmt


def list_for_user(user: User, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    """A user's notices, newest first."""
    query = select(Notification).where(Notification.username == user.username)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(db.session.execute(
        query.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(max(1, min(limit, 500)))).scalars())


def unread_count(user: User) -> int:
    return int(db.session.execute(
        select(func.count()).select_from(RECIPIENTS)
        .where(RECIPIENTS.c.username == user.username, RECIPIENTS.c.read_at.is_(None))
    ).scalar_one())


def mark_read(user: User, ids: Iterable[int]) -> int:
    """Mark the user's own notices read (others' ids are ignored); commits; returns the count."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return 0
    result = db.session.execute(
        update(RECIPIENTS)
        .where(RECIPIENTS.c.username == user.username, RECIPIENTS.c.id.in_(wanted),
               RECIPIENTS.c.read_at.is_(None))
        .values(read_at=clock.now()))
    db.session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_mail_address(username: str, address: str | None) -> None:
    """Mail a user's future notices to ``address`` (None: in-app only); commits."""
    row = db.session.get(MailAddress, username)
    if address:
        if "@" not in address:
            raise ValidationFailedError("not an e-mail address", {"address": ["需要邮箱地址"]})
        if row is None:
            db.session.add(MailAddress(username=username, address=address))
        else:
            row.address = address
    elif row is not None:
        db.session.delete(row)
    db.session.commit()
    forget_directory()


def send_email(notification_id: int) -> bool:
    """Mail one notice if it still waits to be mailed; commits; True when a mail went out.

    Raises ``OSError``/``smtplib.SMTPException`` when the server refuses (the worker retries).
    """
    query = select(Notification).where(Notification.id == notification_id)
    if db.engine.dialect.name == "postgresql":
        # Two deliveries of one message at once must not both mail.
        query = query.with_for_update(of=RECIPIENTS)
    note = db.session.execute(query).scalar_one_or_none()
    if note is None or note.email_state not in {"pending", "failed"} or not note.email_to:
        db.session.rollback()
        return False
    settings: Any = current_app.config["GUANJIA"]
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = note.email_to
    message["Subject"] = f"[管家·{KIND_LABELS.get(note.kind, note.kind)}] {note.title}"
    message["Message-ID"] = f"<notification-{note.id}@guanjia>"
    message.set_content(note.body or note.title)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    note.email_state = "sent"
    note.emailed_at = clock.now()
    db.session.commit()
    return True


def mark_email_failed(notification_id: int) -> None:
    """Record that mailing a notice gave up (an incident holds the error); commits."""
    db.session.execute(update(RECIPIENTS).where(RECIPIENTS.c.id == notification_id)
                       .values(email_state="failed"))
    db.session.commit()


def mail_waiting(older_than_seconds: float = 60.0, limit: int = 500) -> list[int]:
    """Ids of notices still waiting to be mailed a while after they were written."""

    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    return list(db.session.execute(
        # The literal (not a bound value) lets the planner use the partial index of pending
        # mail (ix_notifications_mail_pending).
        select(Notification.id).where(Notification.email_state == literal_column("'pending'"),
                                      Notification.created_at <= cutoff)
        .order_by(Notification.id).limit(limit)).scalars())
