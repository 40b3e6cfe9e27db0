"""What people's inboxes show: a notice reaches a person when it is in their inbox (the
notice is stored once with its audience, not as a row per person)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.services.inbox import InboxEntry, list_for_user


def inbox_of(username: str) -> list[InboxEntry]:
    """``username``'s notices, oldest first (call inside an app context)."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one()
    return list(reversed(list_for_user(user, limit=500)))


def told(matches: Callable[[InboxEntry], bool]) -> set[str]:
    """The usernames whose inbox holds a notice that ``matches`` (inside an app context)."""
    names = db.session.execute(select(User.username).order_by(User.username)).scalars()
    return {name for name in names if any(matches(n) for n in inbox_of(name))}
