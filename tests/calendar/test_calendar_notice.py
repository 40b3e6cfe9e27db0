"""Loading next year's holiday notice: provisional deadlines become exact and move.

Before the notice, 2027 counts Monday–Friday minus the statutory holidays known years ahead
(元旦 1/1 …); the notice adds what only it can say (here a bridging day off on 1/4).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import Api, table_counts

NOTICE_2027 = """# Illustrative, not the real 2027 notice (the bridging day 1/4 is made up)
year 2027
2027-01-01 holiday 元旦
2027-01-04 holiday 元旦
2027-02-06~2027-02-12 休 春节
2027-02-14 班 春节调休
"""
ITEM = {"code": "project_filing", "name": "企业投资项目备案", "department": "dept_fgj",
        "promised_days": 3}
# Wednesday 30 December 2026, 09:00 in Beijing: three working days reach into 2027.
BEFORE_NEW_YEAR = datetime(2026, 12, 30, 1, 0, tzinfo=UTC)
MON_FRI_DUE = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)     # 31 Dec, 4 Jan, 5 Jan (provisional)
EXACT_DUE = datetime(2027, 1, 6, 9, 30, tzinfo=UTC)       # 31 Dec, 5 Jan, 6 Jan


@pytest.fixture
def before_new_year(frozen_clock: FrozenClock) -> FrozenClock:
    frozen_clock.set(BEFORE_NEW_YEAR)
    return frozen_clock


def _user(username: str) -> Any:
    from server.extensions import db
    from server.models import User

    return db.session.execute(sa.select(User).where(User.username == username)).scalar_one()


def _handle_item_for_fgj(api: Api) -> dict[str, Any]:
    """Walk a one-item case to the department's 办理 task (3 working days)."""
    started = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "items": [ITEM]}})
    assert started.status_code == 201, started.json
    steps = (("zhaoshang", "review", {"approved": True}),
             ("fgj", "take_sheet", {"receiver": "fgj"}))
    case_id = started.json["id"]
    for user, element, data in steps:
        task = next(t for t in api.tasks(user)
                    if t["element_id"] == element and t["case_id"] == case_id)
        done = api.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
        assert done.status_code == 200, done.json
    return next(t for t in api.tasks("fgj")
                if t["element_id"] == "handle_item" and t["case_id"] == case_id)


def _item(app: Flask, task_id: str) -> tuple[datetime, bool]:
    from server.extensions import db
    from server.models import WorkItem

    with app.app_context():
        item = db.session.get(WorkItem, task_id)
        assert item is not None and item.due_at is not None
        result = (item.due_at, item.due_provisional)
        db.session.remove()
        return result


def _events(app: Flask, type_: str) -> list[Any]:
    from server.extensions import db
    from server.models import AuditEvent

    with app.app_context():
        rows = list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.type == type_)
                                       .order_by(AuditEvent.seq)).scalars())
        db.session.expunge_all()
        db.session.remove()
        return rows


def test_loading_the_2027_notice_moves_a_provisional_deadline_past_new_year(
        app: Flask, api: Api, before_new_year: FrozenClock) -> None:
    from server.services.calendar_changes import load_notice

    task = _handle_item_for_fgj(api)
    assert _item(app, task["id"]) == (MON_FRI_DUE, True)
    review = _events(app, "task_created")[0]
    assert review.element_id == "review"  # 1 working day stays in 2026: exact from the start
    assert not _item(app, review.task_id)[1]

    with app.app_context():
        result = load_notice(_user("admin"), NOTICE_2027)
    assert result.years == (2027,) and result.days == 10
    assert [(r.task_id, r.old_due_at, r.new_due_at, r.provisional)
            for r in result.recomputed] == [(task["id"], MON_FRI_DUE, EXACT_DUE, False)]

    assert _item(app, task["id"]) == (EXACT_DUE, False)
    listed = next(t for t in api.tasks("fgj") if t["element_id"] == "handle_item")
    assert datetime.fromisoformat(listed["due_at"]) == EXACT_DUE
    loaded = _events(app, "calendar_notice_loaded")
    assert [(e.actor, e.case_id, e.payload["years"]) for e in loaded] == [("admin", None, [2027])]
    moved = _events(app, "deadline_recomputed")
    assert [(e.case_id, e.task_id, e.payload["old_due_at"], e.payload["new_due_at"])
            for e in moved] == [(task["case_id"], task["id"], MON_FRI_DUE.isoformat(),
                                 EXACT_DUE.isoformat())]

    # A task opened after the load counts with the notice straight away.
    second = _handle_item_for_fgj(api)
    assert _item(app, second["id"]) == (EXACT_DUE, False)


def test_a_notice_loaded_by_another_process_is_used_at_the_next_deadline(
        app: Flask, api: Api, before_new_year: FrozenClock) -> None:
    from server.extensions import db
    from server.models import CalendarDay, CalendarYear

    assert _item(app, _handle_item_for_fgj(api)["id"]) == (MON_FRI_DUE, True)
    # Another process (a second web server, a worker) loads the notice: rows only, nothing
    # in this process's memory is told.
    with app.app_context():
        db.session.add(CalendarYear(year=2027, loaded_by="admin", loaded_at=BEFORE_NEW_YEAR,
                                    source=NOTICE_2027))
        db.session.add_all([CalendarDay(day=datetime(2027, 1, d).date(), kind="holiday",
                                        name="元旦", loaded_by="admin",
                                        loaded_at=BEFORE_NEW_YEAR) for d in (1, 4)])
        db.session.commit()
        db.session.remove()
    assert _item(app, _handle_item_for_fgj(api)["id"]) == (EXACT_DUE, False)


def test_a_bad_line_is_refused_by_number_and_nothing_changes(
        app: Flask, api: Api, before_new_year: FrozenClock) -> None:
    from server.services.calendar_changes import load_notice
    from server.services.errors import ValidationFailedError

    task = _handle_item_for_fgj(api)
    before = table_counts(app)
    bad = NOTICE_2027 + "2027-13-01 holiday 不存在的日子\n"
    with app.app_context(), pytest.raises(ValidationFailedError) as refused:
        load_notice(_user("admin"), bad)
    assert refused.value.extra["line"] == 7
    assert "2027-13-01" in refused.value.errors["notice"][0]
    assert table_counts(app) == before
    assert _item(app, task["id"]) == (MON_FRI_DUE, True)


def test_only_an_administrator_loads_a_notice(app: Flask, before_new_year: FrozenClock) -> None:
    from server.services.calendar_changes import load_notice
    from server.services.errors import PermissionDeniedError

    before = table_counts(app)
    with app.app_context(), pytest.raises(PermissionDeniedError):
        load_notice(_user("zhaoshang"), NOTICE_2027)
    assert table_counts(app) == before
