"""The inbox as people read it: the header badge and the inbox page answer as the plain
rules say (audience, read marks, closed tasks, county, deactivation), however the queries
walk the notices (0034_inbox_index: the badge per open task, the page in windows)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import Notice, User, WorkItem
from server.services import inbox
from server.services.notifications import notify
from tests.conftest import Api
from tests.helpers.tenancy import TwoCounties, two_counties


def everyone() -> list[User]:
    return list(db.session.execute(select(User).order_by(User.username)).scalars())


def user(name: str) -> User:
    found: User = db.session.execute(select(User).where(User.username == name)).scalar_one()
    return found


def plain_badge(person: User) -> int:
    """The badge by its definition: the person's notices (the whole inbox), unread, and not
    about a task that is no longer open."""
    entries = inbox.list_for_user(person, limit=500)
    assert len(entries) < 500
    closed = inbox.closed_tasks(entries)
    return sum(1 for e in entries if e.read_at is None and e.task_id not in closed)


def plain_page(person: User, unread_only: bool, limit: int) -> list[int]:
    """The page by its definition: every notice the person has (one window wide enough for
    all), newest first."""
    everything = inbox.list_for_user(person, unread_only=unread_only, limit=500)
    return [e.id for e in everything][:limit]


def spread_notices(app: Flask, api: Api, clock: FrozenClock) -> TwoCounties:
    """Two counties' cases with open department tasks, then notices over a few minutes (some
    at the same instant): about no task, about open tasks, to groups and people."""
    both = two_counties(app, api)
    with app.app_context():
        for n in range(12):
            if n % 3 == 0:
                clock.advance(timedelta(minutes=1))  # three notices share each instant
            case = both.a if n % 2 else both.b
            notify(kind="urging", title=f"督办 {n}", dedupe_key=f"t-{n}",
                   groups=["dept_fgj"] if n % 4 else ["dept_zrzy"], case_id=case.id,
                   task_id=case.tasks["dept_fgj"] if n % 5 == 0 else None)
            notify(kind="policy", title=f"政策 {n}", dedupe_key=f"p-{n}",
                   users=["fgj", "b_fgj"] if n % 2 else ["zrzy"])
        db.session.commit()
        db.session.remove()
    return both


def test_the_badge_counts_what_the_rules_say_for_everyone(
        app: Flask, api: Api, frozen_clock: FrozenClock) -> None:
    both = spread_notices(app, api, frozen_clock)
    with app.app_context():
        fgj = user("fgj")
        before = inbox.unread_open_count(fgj)
        assert before == plain_badge(fgj) > 0
        # Reading some: each read notice leaves the badge, only for its reader.
        mine = inbox.list_for_user(fgj)
        assert inbox.mark_read(fgj, [e.id for e in mine[:3]]) == 3
        assert inbox.unread_open_count(fgj) == before - 3
        for person in everyone():
            assert inbox.unread_open_count(person) == plain_badge(person), person.username
        db.session.remove()
    # 大姚's fgj finishes the task: its notices, read or not, close and leave the badge.
    task = both.a.tasks["dept_fgj"]
    with app.app_context():
        about_task = [e for e in inbox.list_for_user(user("fgj"), limit=500)
                      if e.task_id == task and e.read_at is None]
        assert about_task
        badge = inbox.unread_open_count(user("fgj"))
        last = max(e.id for e in inbox.list_for_user(user("fgj"), limit=500))
        db.session.remove()
    done = api.post(f"/tasks/{task}/complete", "fgj", json={"data": {"outcome": "approved"}})
    assert done.status_code == 200, done.json
    with app.app_context():
        assert db.session.get(WorkItem, task).state == "completed"  # type: ignore[union-attr]
        fgj = user("fgj")
        now = inbox.list_for_user(fgj, limit=500)
        closed = inbox.closed_tasks(now)
        assert task in closed
        # What completing wrote since (the case's next steps) counts as the rules say.
        since = [e for e in now if e.id > last and e.read_at is None
                 and e.task_id not in closed]
        assert inbox.unread_open_count(fgj) == badge - len(about_task) + len(since)
        for person in everyone():
            assert inbox.unread_open_count(person) == plain_badge(person), person.username
        # Another county's department never counts 大姚's group notices; a deactivated
        # person counts nothing.
        theirs = {e.id for e in inbox.list_for_user(user("b_fgj"), limit=500)}
        to_a = db.session.execute(select(Notice.id).where(
            Notice.county == both.a.county, Notice.groups == "dept_fgj")).scalars().all()
        assert to_a and not theirs & set(to_a)
        fgj.active = False
        db.session.commit()
        assert inbox.unread_open_count(fgj) == 0
        assert inbox.list_for_user(fgj) == []
        db.session.remove()


@pytest.mark.parametrize("unread_only", [False, True])
def test_a_page_read_in_small_windows_is_the_same_page(
        app: Flask, api: Api, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch,
        unread_only: bool) -> None:
    """The page is looked for in windows of the newest notices; with windows of two notices
    (many windows, ties of an instant split across them) every person's pages are still
    their newest notices in order, none twice, none missed."""
    spread_notices(app, api, frozen_clock)
    with app.app_context():
        inbox.mark_read(user("fgj"), [e.id for e in inbox.list_for_user(user("fgj"))[1::2]])
        wide = {p.username: plain_page(p, unread_only, 500) for p in everyone()}
        assert len(wide["fgj"]) > 5 and len(wide["zrzy"]) > 5
        monkeypatch.setattr(inbox, "WINDOW_PER_ROW", 1)
        monkeypatch.setattr(inbox, "WINDOW_MIN", 2)
        for person in everyone():
            for limit in (1, 2, 5, 50):
                page = [e.id for e in inbox.list_for_user(person, unread_only, limit)]
                assert page == wide[person.username][:limit], (person.username, limit)
        db.session.remove()
