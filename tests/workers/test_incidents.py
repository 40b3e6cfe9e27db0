"""Incidents are audited: opening, retrying and resolving one is an event in the history of
its case (or of the service, when the failed step concerns no case)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from server.extensions import db
from server.models import AuditEvent
from server.services import incidents
from tests.conftest import Api
from tests.workers.helpers import approve_review, free_port, start_case

CONTINUE = "guanjia.cases.continue_case"
SWEEP = "guanjia.deadlines.sweep"


def events(case_id: str | None) -> list[tuple[Any, ...]]:
    of_case = AuditEvent.case_id.is_(None) if case_id is None else AuditEvent.case_id == case_id
    return [(e.type, e.case_seq, e.actor, e.payload) for e in db.session.execute(
        db.select(AuditEvent).where(of_case).order_by(AuditEvent.seq)).scalars()]


def test_a_case_incident_is_opened_retried_and_resolved_in_the_case_history(
        make_app: Any) -> None:
    app: Flask = make_app(GUANJIA_CELERY_EAGER="1")
    case_id = start_case(Api(app, app.test_client()))
    with app.app_context():
        steps = len(events(case_id))
        incident = incidents.open_incident(task_name=CONTINUE, args=[case_id],
                                           error="ScriptError: boom", attempts=3,
                                           case_id=case_id)
        # The same step giving up again updates the open incident, and says so again.
        again = incidents.open_incident(task_name=CONTINUE, args=[case_id],
                                        error="ScriptError: boom", attempts=3, case_id=case_id)
        assert again.id == incident.id and again.attempts == 6
        # Retried in eager mode: continuing a healthy case succeeds and resolves it.
        incidents.retry_incident(incident.id, actor="admin")
        db.session.remove()
        (closed,) = incidents.list_incidents(case_id, include_resolved=True)
        assert closed.state == "resolved" and closed.resolved_by == "admin"
        history = events(case_id)[steps:]
        assert [(t, actor) for t, _, actor, _ in history] == [
            ("incident_opened", None), ("incident_opened", None),
            ("incident_retried", "admin"), ("incident_resolved", "admin")]
        assert [seq for _, seq, _, _ in history] == list(range(steps + 1, steps + 5))
        opened = history[1][3]
        assert opened == {"incident": incident.id, "task": CONTINUE, "args": [case_id],
                          "attempts": 6, "error": "ScriptError: boom"}
        assert [e for e in events(None) if e[0].startswith("incident_")] == []
        db.session.remove()


def test_an_incident_without_a_case_is_audited_in_the_service_history(app: Flask) -> None:
    with app.app_context():
        incident = incidents.open_incident(task_name=SWEEP, args=[], error="OperationalError",
                                           attempts=3)
        assert incident.case_id is None
        assert incidents.resolve_step(SWEEP, [], by="worker") == 1
        assert incidents.resolve_step(SWEEP, []) == 0  # nothing open: nothing written
        db.session.remove()
        assert [(t, seq, actor) for t, seq, actor, _ in events(None)
                if t.startswith("incident_")] == [("incident_opened", None, None),
                                                  ("incident_resolved", None, "worker")]
        db.session.remove()


def test_a_retry_of_a_resolved_incident_is_refused_and_writes_nothing(app: Flask) -> None:
    from server.services.errors import ConflictError

    with app.app_context():
        incident = incidents.open_incident(task_name=SWEEP, args=[], error="x", attempts=1)
        incidents.resolve_step(SWEEP, [])
        count = len(events(None))
        with pytest.raises(ConflictError):
            incidents.retry_incident(incident.id, actor="admin")
        assert len(events(None)) == count
        db.session.remove()


def test_mail_failing_inside_a_step_becomes_an_incident_on_the_case(
        make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """In eager mode the mail is sent (and gives up) inside the step's commit, while the step
    still holds the case: the incident and its event must be written all the same."""
    from server.models import MailAddress
    from server.services import notifications

    monkeypatch.setenv("GUANJIA_TASK_MAX_RETRIES", "1")
    app: Flask = make_app(GUANJIA_CELERY_EAGER="1", GUANJIA_SMTP_PORT=str(free_port()))
    api = Api(app, app.test_client())
    case_id = start_case(api)
    with app.app_context():
        notifications.set_mail_address("fgj", "fgj@example.cn")
    try:
        approve_review(api, case_id)  # opens fgj's task sheet: a new-task notice is mailed
        with app.app_context():
            (incident,) = incidents.list_incidents(case_id)
            assert incident.task_name == "guanjia.notifications.send_email"
            history = events(case_id)
            assert history[-1][0] == "incident_opened"
            assert [seq for _, seq, _, _ in history] == list(range(1, len(history) + 1))
            db.session.remove()
        assert [t["element_id"] for t in api.tasks("fgj")] == ["take_sheet"]
    finally:
        with app.app_context():
            db.session.execute(db.delete(MailAddress))
            db.session.commit()
            db.session.remove()
