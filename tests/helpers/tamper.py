"""Edit audit rows the way a database superuser would (tamper-evidence tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.extensions import db


@contextmanager
def tampering(app: Flask) -> Iterator[sa.Connection]:
    """A raw connection that may change audit rows (on PostgreSQL the trigger is bypassed
    as the superuser would: ``session_replication_role = replica``)."""
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET session_replication_role = replica")
            yield conn
        db.session.remove()


def event_row(app: Flask, case_id: str, case_seq: int) -> dict[str, Any]:
    with app.app_context():
        row = db.session.execute(sa.text(
            "SELECT * FROM audit_events WHERE case_id = :c AND case_seq = :s"),
            {"c": case_id, "s": case_seq}).mappings().one()
        db.session.remove()
        return dict(row)


def completed_review(app: Flask, case_id: str) -> dict[str, Any]:
    with app.app_context():
        row = db.session.execute(sa.text(
            "SELECT case_seq FROM audit_events WHERE case_id = :c AND type = 'task_completed' "
            "AND element_id = 'review'"), {"c": case_id}).scalar_one()
        db.session.remove()
    return event_row(app, case_id, row)
