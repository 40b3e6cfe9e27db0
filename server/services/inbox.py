"""The inbox as a person reads it: the notices whose audience includes them, what is still
unread, and which notices are closed.

A notice is stored once with its audience (``server.services.notifications`` writes it); a
person has it when the audience names them, or names a group of theirs meant in their county
or the prefecture's (the enterprise group: the case's own enterprise), by the same rules as
``notifications.recipients``. Their row exists only once they read it (or have it mailed).
A notice about a task that is no longer open (completed, cancelled, reassigned away) is
*closed*: it shows as closed and no longer counts as unread, though the notice stays as it was
delivered.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from server.engine import clock
from server.extensions import db
from server.models import Case, Notice, Notification, User, WorkItem
from server.models.cases import READY
from server.services.notifications import ENTERPRISE, new_task_words


@functools.cache
def _read_upsert(dialect: str) -> Any:
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(Notification.__table__)
    return stmt.on_conflict_do_update(index_elements=["username", "notice_id"],
                                      set_={"read_at": stmt.excluded.read_at})



@dataclass(frozen=True)
class InboxEntry:
    """A notice as one person sees it: its words and their read mark. ``id`` is the notice's."""

    id: int
    kind: str
    title: str
    body: str
    case_id: str | None
    task_id: str | None
    dedupe_key: str | None
    created_at: datetime
    read_at: datetime | None


def _padded(column: Any) -> Any:
    return literal(" ") + column + literal(" ")


def _has_word(column: Any, word: str) -> ColumnElement[bool]:
    return _padded(column).contains(f" {word} ", autoescape=True)  # type: ignore[no-any-return]


def in_audience(user: User, notice: Any = Notice) -> ColumnElement[bool]:
    """Notices whose audience includes ``user`` (as ``recipients`` would have reached them):
    named, or a member of a group meant in the user's county or of the prefecture, or of the
    case's own enterprise. A deactivated user is in no audience. ``notice``: ``Notice`` or
    an alias of it (a window of the notices)."""
    if not user.active:
        return literal(False)
    reached = [_has_word(notice.users, user.username)]
    codes = sorted(user.group_codes - {ENTERPRISE})
    if codes:
        in_group = or_(*(_has_word(notice.groups, code) for code in codes))
        if user.county is not None:
            in_group = and_(in_group, or_(notice.county.is_(None),
                                          notice.county == user.county))
        reached.append(in_group)
    if ENTERPRISE in user.group_codes and user.enterprise_id is not None:
        own = select(Case.id).where(Case.enterprise_id == user.enterprise_id).correlate(None)
        own_tasks = select(WorkItem.id).where(WorkItem.case_id.in_(own)).correlate(None)
        reached.append(and_(_has_word(notice.groups, ENTERPRISE),
                            or_(notice.case_id.in_(own), notice.task_id.in_(own_tasks))))
    return or_(*reached)


def _read_by(user: User) -> Select[Any]:
    """The notices the user has read: few, so a notice is checked against them as a set."""
    return select(Notification.notice_id).where(Notification.username == user.username,
                                                Notification.read_at.isnot(None))


def _unread_mark(user: User, notice: Any) -> ColumnElement[bool]:
    """``notice`` has no read mark of the user's: looked up per notice (the user's marks grow
    with their history; the notices checked are few)."""
    return ~exists().where(Notification.notice_id == notice.id,
                           Notification.username == user.username,
                           Notification.read_at.isnot(None))


def unread_notices(user: User) -> Select[Any]:
    """The ids of the notices the user has and has not read."""
    return select(Notice.id).where(in_audience(user), Notice.id.not_in(_read_by(user)))


#: The first window of notices a page is looked for in (newest first): so many per notice
#: of the page, at least ``WINDOW_MIN``; each further window is four times the one before.
WINDOW_PER_ROW = 20
WINDOW_MIN = 200


def _page_ids(user: User, unread_only: bool, limit: int) -> list[int]:
    """The ids of the user's newest ``limit`` notices (unread only: not read).

    The notices are read newest first in windows through ``ix_notices_created``, each
    filtered by the audience, until the page is full or the notices run out: the work grows
    with how far back the page reaches, not with the history. (A single filtered query lets
    the planners guess the audience's share, and PostgreSQL then reads the whole table
    whenever it guesses it small.)"""
    newest = (Notice.created_at.desc(), Notice.id.desc())
    ids: list[int] = []
    after: tuple[datetime, int] | None = None
    size = max(limit * WINDOW_PER_ROW, WINDOW_MIN)
    while len(ids) < limit:
        window = select(Notice).order_by(*newest).limit(size)
        if after is not None:
            window = window.where(tuple_(Notice.created_at, Notice.id) < after)
        seen = aliased(Notice, window.subquery())
        mine = select(seen.id).where(in_audience(user, seen))
        if unread_only:
            mine = mine.where(_unread_mark(user, seen))
        ids += db.session.execute(
            mine.order_by(seen.created_at.desc(), seen.id.desc()).limit(limit - len(ids))
        ).scalars()
        if len(ids) >= limit:
            break
        edge = select(Notice.created_at, Notice.id).order_by(*newest).offset(size - 1).limit(1)
        if after is not None:
            edge = edge.where(tuple_(Notice.created_at, Notice.id) < after)
        last = db.session.execute(edge).one_or_none()
        if last is None:  # the window was the last
            break
        after = (last[0], last[1])
        size *= 4
    return ids


def list_for_user(user: User, unread_only: bool = False, limit: int = 50) -> list[InboxEntry]:
    """A user's notices, newest first."""
    if not user.active:
        return []
    ids = _page_ids(user, unread_only, max(1, min(limit, 500)))
    if not ids:
        return []
    # Then only the page's notices are joined to their read marks, tasks and cases.
    mark, task, case = aliased(Notification), aliased(WorkItem), aliased(Case)
    rows = db.session.execute(
        select(Notice, mark.read_at, task.case_id, task.name, case.title, case.reference)
        .outerjoin(mark, and_(mark.notice_id == Notice.id, mark.username == user.username))
        .outerjoin(task, and_(Notice.case_id.is_(None), task.id == Notice.task_id))
        .outerjoin(case, and_(Notice.title.is_(None), case.id == task.case_id))
        .where(Notice.id.in_(ids))
        .order_by(Notice.created_at.desc(), Notice.id.desc())).all()
    entries = []
    for notice, read_at, task_case, task_name, case_title, reference in rows:
        title, body = notice.title, notice.body
        if title is None:
            title, body = new_task_words(task_name or "", case_title or "", reference or "")
        entries.append(InboxEntry(notice.id, notice.kind, title, body or "",
                                  notice.case_id or task_case,
                                  notice.task_id, notice.dedupe_key, notice.created_at,
                                  read_at))
    return entries


def unread_count(user: User) -> int:
    return int(db.session.execute(
        select(func.count()).select_from(unread_notices(user).subquery())).scalar_one())


def mark_read(user: User, ids: Iterable[int]) -> int:
    """Mark notices of the user's read (others' and read ones are ignored); commits; returns
    the count. Only this person's row is written: everyone else's mark stays as it was."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return 0
    unread = list(db.session.execute(unread_notices(user).where(Notice.id.in_(wanted)))
                  .scalars())
    if unread:
        now = clock.now()
        db.session.execute(_read_upsert(db.engine.dialect.name), [
            {"notice_id": notice_id, "username": user.username, "read_at": now,
             "email_state": "none"} for notice_id in unread])
    db.session.commit()
    return len(unread)


def closed_tasks(notices: Iterable[Any]) -> set[str]:
    """The task ids among ``notices`` whose task is no longer open."""
    ids = sorted({n.task_id for n in notices if n.task_id})
    if not ids:
        return set()
    open_ids = set(db.session.execute(
        select(WorkItem.id).where(WorkItem.id.in_(ids), WorkItem.state == "ready")).scalars())
    return set(ids) - open_ids


def unread_open_count(user: User) -> int:
    """Unread notices that are not about a finished task (the number in the header).

    Counted as two disjoint parts, each read through an index: the notices about no task
    (``ix_notices_task``, its NULL keys), and the notices of open tasks — the notices joined
    to the open items (their partial indexes) by ``ix_notices_task``. The join is fenced off
    from the audience filter (``OFFSET 0``): the planner then sizes it by its two sides, and
    starts from whichever is smaller (300 open tasks among 100,000 notices, or a few notices
    among a million open tasks), instead of trusting a guess at the audience's share."""
    if not user.active:
        return 0
    no_task = select(func.count()).select_from(Notice).where(
        Notice.task_id.is_(None), in_audience(user), Notice.id.not_in(_read_by(user)))
    joined = (select(Notice).join(WorkItem, WorkItem.id == Notice.task_id)
              .where(WorkItem.state == READY).offset(0).subquery())
    opened = aliased(Notice, joined)
    of_open_tasks = select(func.count()).select_from(opened).where(
        in_audience(user, opened), _unread_mark(user, opened))
    return int(db.session.execute(
        select(no_task.scalar_subquery() + of_open_tasks.scalar_subquery())).scalar_one())


def mark_all_read(user: User) -> int:
    """Mark every unread notice of the user read (commits); returns how many."""
    done = 0
    while True:
        batch = [n.id for n in list_for_user(user, unread_only=True, limit=500)]
        if not batch:
            return done
        marked = mark_read(user, batch)
        done += marked
        if not marked:
            return done
