"""Notifications: in-app notices for new tasks and deadlines, mail over SMTP, incidents."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import Group, MailAddress, Notification, User
from server.services import inbox, incidents, notifications, timers
from tests.conftest import Api
from tests.workers.helpers import (
    approve_review,
    deploy_timer_paths,
    free_port,
    query,
    start_case,
)


def user(name: str) -> User:
    return db.session.execute(db.select(User).where(User.username == name)).scalar_one()


def kinds_of(app: Flask, username: str) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = [(n.kind, n.case_id) for n in inbox.list_for_user(user(username))]
        db.session.remove()
        return rows


def test_new_tasks_notify_their_groups_once(api: Api) -> None:
    case_id = start_case(api)
    assert kinds_of(api.app, "zhaoshang") == [("new_task", case_id)]
    assert kinds_of(api.app, "fgj") == []
    (review,) = [t for t in api.tasks("zhaoshang") if t["case_id"] == case_id]
    approve_review(api, case_id)
    assert kinds_of(api.app, "fgj") == [("new_task", case_id)]
    assert kinds_of(api.app, "zrzy") == [("new_task", case_id)]
    notices = query(api.app, "SELECT count(*) FROM notices")
    # The same completion again (a retried request) is refused and tells nobody twice.
    again = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                     json={"data": {"approved": True}})
    assert again.status_code in {404, 409}, again.json
    assert query(api.app, "SELECT count(*) FROM notices") == notices
    assert kinds_of(api.app, "fgj") == [("new_task", case_id)]
    with api.app.app_context():
        (note,) = inbox.list_for_user(user("fgj"))
        assert note.title == "新任务：领取任务单（储能电池基地）"
        other = inbox.list_for_user(user("zrzy"))[0].id
        # Someone else's notice cannot be marked read.
        assert inbox.mark_read(user("fgj"), [note.id, other]) == 1
        assert inbox.list_for_user(user("fgj"), unread_only=True) == []
        assert inbox.unread_count(user("zrzy")) == 1
        db.session.remove()


@pytest.fixture
def bureau_of_four(app: Flask) -> Iterator[list[str]]:
    """zhaoshang and three more people of the bureau (users outlive a test: removed after)."""
    more = ["zhaoshang_2", "zhaoshang_3", "zhaoshang_4"]
    with app.app_context():
        bureau = db.session.execute(sa.select(Group).where(Group.code == "bureau")).scalar_one()
        db.session.add_all(User(username=name, display_name=f"招商局{name[-1]}",
                                groups=[bureau]) for name in more)
        db.session.commit()
        notifications.forget_directory()
        db.session.remove()
    try:
        yield ["zhaoshang", *more]
    finally:
        with app.app_context():
            db.session.execute(sa.delete(User).where(User.username.in_(more)))
            db.session.commit()
            notifications.forget_directory()
            db.session.remove()


def test_a_groups_new_task_is_one_notice_and_each_person_reads_it_alone(
        api: Api, bureau_of_four: list[str]) -> None:
    case_id = start_case(api)  # the bureau's review opens: four people may take it
    first, *others = bureau_of_four
    with api.app.app_context():
        # Stored once, with no row for any of the four until one of them reads it.
        assert query(api.app, "SELECT count(*) FROM notices") == [(1,)]
        assert query(api.app, "SELECT count(*) FROM notifications") == [(0,)]
        for name in bureau_of_four:
            (entry,) = inbox.list_for_user(user(name))
            assert (entry.kind, entry.case_id, entry.read_at) == ("new_task", case_id, None)
            assert entry.title == "新任务：审核（储能电池基地）"
            assert inbox.unread_open_count(user(name)) == 1
        assert inbox.mark_read(user(first), [entry.id]) == 1
        assert inbox.mark_read(user(first), [entry.id]) == 0  # read already
        # One row, the reader's: the other three still have it unread.
        assert query(api.app, "SELECT username FROM notifications") == [(first,)]
        assert inbox.list_for_user(user(first))[0].read_at is not None
        assert inbox.unread_open_count(user(first)) == 0
        for name in others:
            assert inbox.list_for_user(user(name))[0].read_at is None
            assert inbox.unread_open_count(user(name)) == 1
        # A deactivated person sees nothing and marks nothing.
        gone = user(others[0])
        gone.active = False
        db.session.commit()
        assert inbox.list_for_user(gone) == []
        assert inbox.unread_open_count(gone) == 0
        assert inbox.mark_read(gone, [entry.id]) == 0
        db.session.remove()


def test_a_notice_to_many_is_stored_once_and_read_by_each_on_their_own(api: Api) -> None:
    stewards = ["guanjia", "guanjia2"]
    with api.app.app_context():
        notifications.notify(kind="urging", title="催办：请尽快领受", body="已超期一个工作日。",
                             groups=["steward"], users=["lingdao"], dedupe_key="urging:x:1")
        db.session.commit()
        # The words once (issue 18: 22 of a finished case's 60 KB were copies of them) ...
        assert db.session.execute(sa.text("SELECT count(*) FROM notices")).scalar_one() == 1
        # ... and each of the three people has the notice, unread.
        for name in [*stewards, "lingdao"]:
            (note,) = inbox.list_for_user(user(name))
            assert (note.kind, note.title, note.body) == ("urging", "催办：请尽快领受",
                                                          "已超期一个工作日。")
            assert inbox.unread_count(user(name)) == 1
        # One person's read mark is theirs alone.
        mine = inbox.list_for_user(user("guanjia"))[0].id
        assert inbox.mark_read(user("guanjia"), [mine]) == 1
        assert inbox.unread_count(user("guanjia")) == 0
        assert inbox.unread_count(user("guanjia2")) == 1
        assert inbox.list_for_user(user("guanjia2"), unread_only=True)[0].title \
            == "催办：请尽快领受"
        # The same key again reaches only who lacks it, with the words first written.
        again = notifications.notify(kind="urging", title="另一个标题",
                                     users=["lingdao2", *stewards], dedupe_key="urging:x:1")
        db.session.commit()
        assert len(again) == 1
        assert [n.title for n in inbox.list_for_user(user("lingdao2"))] == [
            "催办：请尽快领受"]
        assert db.session.execute(sa.text("SELECT count(*) FROM notices")).scalar_one() == 1
        assert inbox.unread_count(user("guanjia")) == 0
        db.session.remove()


def test_the_enterprise_group_reaches_only_the_case_own_enterprise(api: Api) -> None:
    case_id = start_case(api)
    with api.app.app_context():
        created = notifications.notify(kind="result_ready", title="备案已办结",
                                       groups=["enterprise"], case_id=case_id,
                                       dedupe_key="result:1")
        db.session.commit()
        assert len(created) == 1
        db.session.remove()
    assert kinds_of(api.app, "qiye") == [("result_ready", case_id)]
    assert kinds_of(api.app, "qiye_b") == []


def test_deadline_sweep_warns_then_alerts_then_urges_once_per_day(
        api: Api, frozen_clock: FrozenClock) -> None:
    case_id = start_case(api)  # review is due at the end of the next working day
    with api.app.app_context():
        first = timers.sweep_deadlines()
        assert (first["yellow"], first["red"]) == (1, 0)
        assert timers.sweep_deadlines()["notices"] == 0
        frozen_clock.advance(timedelta(days=2))  # Wednesday: a working day overdue
        late = timers.sweep_deadlines()
        assert late["red"] == 1 and late["notices"] > 0
        assert timers.sweep_deadlines()["notices"] == 0
        db.session.remove()
    assert sorted(k for k, _ in kinds_of(api.app, "zhaoshang")) == [
        "new_task", "overdue", "urging", "warning"]
    # The steward hears of the overdue item, not of the early warning.
    assert [k for k, _ in kinds_of(api.app, "guanjia")] == ["overdue"]
    assert all(c == case_id for _, c in kinds_of(api.app, "zhaoshang"))


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def eager_app(make_app: Any, smtp_port: int, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[Flask]:
    monkeypatch.setenv("GUANJIA_TASK_MAX_RETRIES", "2")
    app: Flask = make_app(GUANJIA_CELERY_EAGER="1", GUANJIA_SMTP_PORT=str(smtp_port))
    yield app
    # The shared PostgreSQL test database keeps tables without a case between tests.
    with app.app_context():
        db.session.execute(db.delete(MailAddress))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[Inbox]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


def test_notices_are_mailed_once_after_the_commit(eager_app: Flask, mailbox: Inbox) -> None:
    api = Api(eager_app, eager_app.test_client())
    with eager_app.app_context():
        notifications.set_mail_address("zhaoshang", "wang@example.cn")
    case_id = start_case(api)
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message.rcpt_tos == ["wang@example.cn"]
    mail = email.message_from_bytes(message.content, policy=email.policy.default)
    assert mail["Subject"].startswith("[管家·新任务] 新任务：")
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "有一项新任务" in body.get_content()
    with eager_app.app_context():
        # The one delivery: zhaoshang's, of the review's notice, and only zhaoshang gave an address.
        note = db.session.execute(db.select(Notification)).scalar_one()
        assert note.username == "zhaoshang" and note.email_state == "sent"
        assert notifications.case_of_delivery(note.id) == case_id
        # A second delivery of the same message mails nothing.
        assert notifications.send_email(note.id) is False
        db.session.remove()
    assert len(mailbox.messages) == 1


def test_mail_that_keeps_failing_becomes_an_incident_and_a_retry_sends_it(
        eager_app: Flask, smtp_port: int) -> None:
    api = Api(eager_app, eager_app.test_client())
    with eager_app.app_context():
        notifications.set_mail_address("zhaoshang", "wang@example.cn")
    case_id = start_case(api)  # no SMTP server is listening
    with eager_app.app_context():
        (incident,) = incidents.list_incidents(case_id)
        assert incident.task_name == "guanjia.notifications.send_email"
        assert incident.state == "open" and incident.attempts == 3
        assert "Connection refused" in incident.error or "Errno" in incident.error
        assert db.session.execute(db.select(Notification.email_state).where(
            Notification.username == "zhaoshang")).scalar_one() == "failed"
        db.session.remove()
    # The case itself went on: the review task is there to be done.
    assert [t["element_id"] for t in api.tasks("zhaoshang")] == ["review"]

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with eager_app.app_context():
            incidents.retry_incident(incident.id, actor="admin")
            db.session.remove()
            assert incidents.list_incidents(case_id) == []
            (closed,) = incidents.list_incidents(case_id, include_resolved=True)
            assert closed.state == "resolved" and closed.resolved_by == "admin"
            db.session.remove()
    finally:
        controller.stop()
    assert [m.rcpt_tos for m in box.messages] == [["wang@example.cn"]]


def test_a_timer_path_that_fails_becomes_an_incident_and_the_case_is_kept(
        eager_app: Flask, frozen_clock: FrozenClock) -> None:
    from workers.dispatch import celery_of

    deploy_timer_paths(eager_app)
    api = Api(eager_app, eager_app.test_client())
    case_id = start_case(api, "broken_timer_case")
    frozen_clock.advance(timedelta(minutes=31))
    with eager_app.app_context():
        version = db.session.execute(db.text(
            "SELECT state_version FROM cases WHERE id = :c"), {"c": case_id}).scalar_one()
        celery_of(eager_app).tasks["guanjia.timers.fire_case"].apply(args=[case_id])
        (incident,) = incidents.list_incidents(case_id)
        assert "division by zero" in incident.error and incident.attempts == 3
        # Parked: the sweep no longer hands the failing timer out every few seconds.
        assert timers.claim_due_timers().case_ids == []
        assert [t.state for t in timers.timers_of(case_id)] == ["failed"]
        assert db.session.execute(db.text(
            "SELECT state_version FROM cases WHERE id = :c"),
            {"c": case_id}).scalar_one() == version
        # Retrying without a fix fails again: the same incident stays open, attempts add up.
        incidents.retry_incident(incident.id)
        db.session.remove()
        (again,) = incidents.list_incidents(case_id)
        assert again.id == incident.id and again.attempts == 6 and again.state == "open"
        db.session.remove()
    assert [t["element_id"] for t in api.tasks("zhaoshang")] == ["wait_forever"]
