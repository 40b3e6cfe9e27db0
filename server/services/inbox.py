"""The inbox as a person reads it: what is still unread, and which notices are closed.

A notice about a task that is no longer open (completed, cancelled, reassigned away) is
*closed*: it shows as closed and no longer counts as unread, though the notice stays as it was
delivered. Built on the public query functions of ``notifications`` (its storage may change).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select

from server.extensions import db
from server.models import Notice, User, WorkItem
from server.services import notifications


def closed_tasks(notices: Iterable[Any]) -> set[str]:
    """The task ids among ``notices`` whose task is no longer open."""
    ids = sorted({n.task_id for n in notices if n.task_id})
    if not ids:
        return set()
    open_ids = set(db.session.execute(
        select(WorkItem.id).where(WorkItem.id.in_(ids), WorkItem.state == "ready")).scalars())
    return set(ids) - open_ids


def unread_open_count(user: User) -> int:
    """Unread notices that are not about a finished task (the number in the header)."""
    still_open = select(WorkItem.id).where(WorkItem.state == "ready")
    unread = notifications.unread_notices(user).where(
        or_(Notice.task_id.is_(None), Notice.task_id.in_(still_open)))
    return int(db.session.execute(
        select(func.count()).select_from(unread.subquery())).scalar_one())


def mark_all_read(user: User) -> int:
    """Mark every unread notice of the user read (commits); returns how many."""
    done = 0
    while True:
        batch = [n.id for n in notifications.list_for_user(user, unread_only=True, limit=500)]
        if not batch:
            return done
        marked = notifications.mark_read(user, batch)
        done += marked
        if not marked:
            return done
