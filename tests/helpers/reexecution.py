"""Re-execute a stored case and compare it with what was recorded (audit tests)."""

from __future__ import annotations

from flask import Flask

from server.extensions import db
from server.models import Case
from server.services import replay


def reexecute(app: Flask, case_id: str) -> replay.Reexecution:
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        result = replay.reexecute_case(case)
        db.session.remove()
        return result


def assert_same(app: Flask, case_id: str) -> replay.Reexecution:
    from server.services import ledger

    with app.app_context():  # an honest case also verifies: history, seal and stored state
        assert ledger.verify(case_id) == []
        db.session.remove()
    result = reexecute(app, case_id)
    assert result.ok, result.detail
    assert result.recorded == result.replayed
    assert result.data_differences == []
    assert result.detail == "same path and same data"
    return result
