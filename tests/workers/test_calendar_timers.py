"""A loaded holiday notice moves the engine timers already waiting, and the sweep the worker
runs (claim, then fire under the case lock) follows the moved instant."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import User
from server.services import timers
from tests.scenarios.conftest import ROOT, Walker

CST = ZoneInfo("Asia/Shanghai")
# Illustrative, not the real 2027 notice: it adds a bridging day off on Monday 1/4.
NOTICE_2027 = "year 2027\n2027-01-01 holiday 元旦\n2027-01-04 holiday 元旦\n"


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_a_loaded_notice_moves_a_waiting_timer(make_app: Any,
                                               frozen_clock: FrozenClock) -> None:
    from server.services.calendar_changes import load_notice

    app = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                   GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    frozen_clock.set(cst(2026, 12, 28, 9))  # Monday
    walker = Walker(app, frozen_clock)
    walker.start(item_codes=["temporary_land_use"])  # 自然资源局, 10 working days
    walker.accept()
    walker.hand_over()
    walker.do("zrzy", "take_task_sheet")
    walker.do("zrzy", "review_item_materials", acceptance_mode="accepted")
    # 12/29, 12/30, 12/31, (元旦 1/1), 1/4 … 1/8, 1/11, 1/12: provisional, 2027 unpublished.
    overdue = {t["element_id"]: t for t in walker.timers()}["item_overdue"]
    assert overdue["due_at"] == cst(2027, 1, 12, 17, 30)

    def load() -> Any:
        admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
        return load_notice(admin, NOTICE_2027)
    result = walker.run(load)
    assert [(r.old_due_at, r.new_due_at) for r in result.recomputed] == [
        (cst(2027, 1, 12, 17, 30), cst(2027, 1, 13, 17, 30))]
    moved = {t["element_id"]: t for t in walker.timers()}["item_overdue"]
    assert moved["task_id"] == overdue["task_id"] and moved["due_at"] == cst(2027, 1, 13, 17, 30)
    events = [e for e in walker.events("timer_rescheduled") if e["element_id"] == "item_overdue"]
    assert [(datetime.fromisoformat(e["payload"]["old_due_at"]),
             datetime.fromisoformat(e["payload"]["new_due_at"])) for e in events] == [
        (cst(2027, 1, 12, 17, 30), cst(2027, 1, 13, 17, 30))]

    # The worker's sweep at the old instant claims nothing for this timer ...
    walker.reload()
    frozen_clock.set(cst(2027, 1, 12, 18))
    with app.app_context():
        sweep = timers.claim_due_timers()
        assert [c for c in sweep.case_ids if c == walker.case_id] == [walker.case_id]
        fired = timers.fire_case_timers(walker.case_id)
        assert "item_overdue" not in [t.element_id for t in fired]  # only the reminder
        db.session.remove()
    # ... and at the moved instant the engine fires it.
    frozen_clock.set(cst(2027, 1, 13, 18))
    with app.app_context():
        assert walker.case_id in timers.claim_due_timers().case_ids
        assert [t.element_id for t in timers.fire_case_timers(walker.case_id)] == [
            "item_overdue"]
        db.session.remove()
    assert [e["element_id"] for e in walker.events("timer_fired")] == [
        "item_due_warning", "item_overdue"]
