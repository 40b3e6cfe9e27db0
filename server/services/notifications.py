"""Notifications: notices in people's inboxes, mailed over SMTP where they gave an address.

A notice is stored once with its audience (the users named, the groups meant and the county
they are scoped to); a person's inbox is the notices whose audience includes them now, by
the same rules as ``recipients`` (read in ``server.services.inbox``). Rows per person exist
only for what is theirs alone: a read mark when they read a notice, a mail delivery for
people with a mail address.

The audience is read by who is in a group now (memberships carry no date): a person who
joins a group sees the group's notices, earlier ones too (those about tasks since done show
as closed and do not count as unread), as they are now offered its open tasks; a person who
leaves it, or is deactivated, no longer sees them. A notice named to a person stays theirs.

``notify`` joins the caller's transaction (a new task and its notice commit together); mail is
sent by a worker after that commit. Every notice carries a ``dedupe_key`` (a step's new-task
notice is one per task instead, written with its task's row): notifying twice with the same
key adds nothing, which is what makes at-least-once workers safe.
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
from sqlalchemy import (
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.engine import clock
from server.engine.runtime import HumanTask
from server.extensions import db
from server.models import Case, Group, MailAddress, Notice, Notification, User, WorkItem
from server.models.notifications import KINDS
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
    codes = set(groups)
    scope = (county or _case_county(case_id)) if codes - {ENTERPRISE} else None
    return _reached(users, codes, case_id=case_id, scope=scope)


def _reached(users: Iterable[str], groups: Iterable[str], *, case_id: str | None,
             scope: str | None) -> list[str]:
    """``recipients`` with the groups' county already settled (``scope``; None: all)."""
    names = set(u for u in users if u)
    codes = sorted(set(groups) - {ENTERPRISE})
    if codes:
        members = select(User.username).join(User.groups).where(Group.code.in_(codes))
        if scope is not None:
            members = members.where(or_(User.county == scope, User.county.is_(None)))
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


def _words(text: Iterable[str]) -> str | None:
    return " ".join(sorted(set(text))) or None


def notify(*, kind: str, title: str, dedupe_key: str, body: str = "",
           users: Iterable[str] = (), groups: Iterable[str] = (), case_id: str | None = None,
           task_id: str | None = None, county: str | None = None) -> list[str]:
    """Add a notice to the caller's transaction; returns the usernames it newly reaches.

    A notice already written under ``dedupe_key`` keeps its words and reaches, besides its
    audience, whoever of these recipients it did not reach yet. A group reaches its members
    of the case's county (or of ``county``) and of the prefecture only. Mail goes out after
    the caller commits. Raises ``ValidationFailedError`` for an unknown ``kind``.
    """
    if kind not in KINDS:
        raise ValidationFailedError(f"unknown notification kind {kind!r}",
                                    {"kind": [f"one of {', '.join(KINDS)}"]})
    named, codes = set(users), set(groups)
    scope = (county or _case_county(case_id)) if codes - {ENTERPRISE} else None
    people = _reached(named, codes, case_id=case_id, scope=scope)
    if not people:
        return []
    key = dedupe_key[:200]
    dialect = db.engine.dialect.name
    notice_id = db.session.execute(_keyed_insert(dialect), {
        "kind": kind, "title": title[:300], "body": body, "case_id": case_id,
        "task_id": task_id, "dedupe_key": key, "created_at": clock.now(),
        "users": _words(u for u in people if u in named), "groups": _words(codes),
        "county": scope}).scalar()
    if notice_id is None:
        # Written before (a redelivered message, a second sweep): reach only who lacks it.
        query = select(Notice).where(Notice.dedupe_key == key)
        if dialect == "postgresql":
            query = query.with_for_update()  # two merges at once must not lose one
        notice = db.session.execute(query).scalar_one()
        already = set(audience(notice))
        people = [u for u in people if u not in already]
        if not people:
            return []
        notice.users = _words([*(notice.users or "").split(), *people])
        notice_id = notice.id
    _add_mail({notice_id: people})
    return people


def audience(notice: Notice) -> list[str]:
    """The active users whose inbox holds ``notice`` now."""
    return _reached((notice.users or "").split(), (notice.groups or "").split(),
                    case_id=case_of(notice), scope=notice.county)


def case_of(notice: Notice) -> str | None:
    """The case ``notice`` is about: its own, or its task's (a step's new-task notice)."""
    if notice.case_id is not None or notice.task_id is None:
        return notice.case_id
    return db.session.execute(select(WorkItem.case_id).where(
        WorkItem.id == notice.task_id)).scalar_one_or_none()


def case_of_delivery(notification_id: int) -> str | None:
    """The case of the notice a mail delivery carries (None: none, or no such delivery)."""
    notice = db.session.execute(select(Notice).join(Notification.notice).where(
        Notification.id == notification_id)).scalar_one_or_none()
    return None if notice is None else case_of(notice)


def _add_mail(people_of: dict[int, Sequence[str]]) -> None:
    """A mail delivery for each person with a mail address, sent after the commit."""
    wanted = sorted({u for people in people_of.values() for u in people})
    mail: dict[str, str] = dict(db.session.execute(
        select(MailAddress.username, MailAddress.address)
        .where(MailAddress.username.in_(wanted))).all()) if wanted else {}
    _insert_mail(people_of, mail)


def _insert_mail(people_of: dict[int, Sequence[str]], mail: dict[str, str]) -> None:
    rows = [{"notice_id": notice_id, "username": u, "email_state": "pending",
             "email_to": mail[u]}
            for notice_id, people in people_of.items() for u in people if u in mail]
    if not rows:
        return
    for row_id in db.session.execute(_mail_insert(db.engine.dialect.name), rows).scalars():
        send_after_commit(SEND_EMAIL, [row_id])


def notify_new_tasks(case: Case, human: Sequence[HumanTask]) -> None:
    """Tell the people who may take each newly opened task (in the step's transaction).

    This runs inside every task completion, so it costs a fixed number of statements per
    step: one insert of all notices (one per task, its audience the task's assignee or its
    groups in the case's county), and one of their mail deliveries if anyone gets mail. Each
    task's notice is written once: with the task's ``work_items`` row, in the same step.
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
        members = {code: {u for u in people if code == ENTERPRISE
                          or county_of.get(u) in (None, county)}
                   for code, people in members.items()}
    now = clock.now()
    rows: list[dict[str, Any]] = []
    mailed: dict[str, list[str]] = {}
    for task in opened:
        people = {task.assignee} if task.assignee else set().union(
            *(members.get(code, set()) for code in task.candidate_groups))
        if not people:
            continue  # a notice to nobody is not written
        groups = [] if task.assignee else task.candidate_groups
        # No words and no case: both are the task's (its work_items row, written with it).
        rows.append({"kind": "new_task", "title": None, "body": None, "case_id": None,
                     "task_id": task.id, "dedupe_key": None, "created_at": now,
                     "users": task.assignee, "groups": _words(groups),
                     "county": county if set(groups) - {ENTERPRISE} else None})
        mailed[task.id] = [u for u in sorted(people) if u in directory.mail]
    if not rows:
        return
    dialect = db.engine.dialect.name
    if not any(mailed.values()):
        db.session.execute(_task_insert(dialect, returning=False), rows)
        return
    written = db.session.execute(_task_insert(dialect, returning=True), rows).all()
    _insert_mail({notice_id: mailed[task_id] for notice_id, task_id in written},
                 directory.mail)


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
    # Per app: a membership change reaches new-task mail within DIRECTORY_SECONDS.
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


_NOTICES = Notice.__table__
_PEOPLE = Notification.__table__


def _insert_for(dialect: str) -> Any:
    return pg_insert if dialect == "postgresql" else sqlite_insert


@functools.cache
def _keyed_insert(dialect: str) -> Any:
    # A notice already written under the key is kept as it is (and no id comes back).
    return (_insert_for(dialect)(_NOTICES)
            .on_conflict_do_nothing(index_elements=["dedupe_key"],
                                    index_where=_NOTICES.c.dedupe_key.isnot(None))
            .returning(_NOTICES.c.id))


@functools.cache
def _task_insert(dialect: str, *, returning: bool) -> Any:
    # No conflict to handle: each task's row in work_items is written with its notice.
    stmt = _insert_for(dialect)(_NOTICES)
    return stmt.returning(_NOTICES.c.id, _NOTICES.c.task_id) if returning else stmt


@functools.cache
def _mail_insert(dialect: str) -> Any:
    return (_insert_for(dialect)(_PEOPLE)
            .on_conflict_do_nothing(index_elements=["username", "notice_id"])
            .returning(_PEOPLE.c.id))


def new_task_words(task_name: str, case_title: str, reference: str) -> tuple[str, str]:
    """The title and body of a step's new-task notice (rendered, not stored)."""
    return (f"新任务：{task_name}（{case_title}）"[:300],
            f"案件 {reference} 有一项新任务“{task_name}”等待办理。")


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
    """Mail one notice to one person if it still waits to be mailed; commits; True when a
    mail went out.

    Raises ``OSError``/``smtplib.SMTPException`` when the server refuses (the worker retries).
    """
    query = select(Notification).where(Notification.id == notification_id)
    if db.engine.dialect.name == "postgresql":
        # Two deliveries of one message at once must not both mail.
        query = query.with_for_update()
    note = db.session.execute(query).scalar_one_or_none()
    if note is None or note.email_state not in {"pending", "failed"} or not note.email_to:
        db.session.rollback()
        return False
    title, body = words_of(note.notice)
    settings: Any = current_app.config["GUANJIA"]
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = note.email_to
    message["Subject"] = f"[管家·{KIND_LABELS.get(note.notice.kind, note.notice.kind)}] {title}"
    message["Message-ID"] = f"<notification-{note.id}@guanjia>"
    message.set_content(body or title)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    note.email_state = "sent"
    note.emailed_at = clock.now()
    db.session.commit()
    return True


def words_of(notice: Notice) -> tuple[str, str]:
    """The title and body of ``notice``, as every page and mail shows them."""
    if notice.title is not None:
        return notice.title, notice.body or ""
    name, title, reference = db.session.execute(
        select(WorkItem.name, Case.title, Case.reference).join(WorkItem.case)
        .where(WorkItem.id == notice.task_id)).one_or_none() or ("", "", "")
    return new_task_words(name, title, reference)


def mark_email_failed(notification_id: int) -> None:
    """Record that mailing a notice gave up (an incident holds the error); commits."""
    db.session.execute(update(_PEOPLE).where(_PEOPLE.c.id == notification_id)
                       .values(email_state="failed"))
    db.session.commit()


def mail_waiting(older_than_seconds: float = 60.0, limit: int = 500) -> list[int]:
    """Ids of mail deliveries still waiting a while after their notice was written."""

    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    return list(db.session.execute(
        # The literal (not a bound value) lets the planner use the partial index of pending
        # mail (ix_notifications_mail_pending).
        select(Notification.id).join(Notification.notice)
        .where(Notification.email_state == literal_column("'pending'"),
               Notice.created_at <= cutoff)
        .order_by(Notification.id).limit(limit)).scalars())
