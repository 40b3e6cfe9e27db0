"""The lawful clock on the real process: Art. 45 pauses, referral upward, calendar-day statutes
and county data, each moving the deadline and the engine timers already waiting on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.rules.workdays import WorkCalendar
from tests.helpers.lawful_clock import act, item, to_handling
from tests.scenarios.conftest import Walker

CST = ZoneInfo("Asia/Shanghai")
ART_45 = "《中华人民共和国行政许可法》第四十五条"
ART_43 = "《中华人民共和国行政许可法》第四十三条"


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)








def timers(walker: Walker) -> dict[str, datetime]:
    return {t["element_id"]: t["due_at"] for t in walker.timers()}


def test_five_working_days_of_expert_review_move_a_20_day_item_by_five(walker: Walker) -> None:
    from server.services.clock_pauses import end_pause, start_pause

    calendar = WorkCalendar.default()
    handling = to_handling(walker)
    started = walker.clock.now()
    plain = calendar.add_working_days(started, 20).at
    assert handling["due_at"] == plain == cst(2026, 12, 21, 17, 30)
    assert timers(walker)["item_overdue"] == plain

    walker.advance(days=2)  # Wednesday 11/25: the expert panel is convened
    paused = act(walker, start_pause, "sthj", handling["id"], kind="expert_review",
                 reason="组织专家评审环评报告表", cap_days=10)
    assert paused["article"] == ART_45 and paused["cap_days"] == 10
    # While the review runs, the timers wait for the longest it may take (the 10-day cap).
    assert timers(walker)["item_overdue"] == calendar.add_working_days(started, 30).at
    walker.advance(days=7)  # Wednesday 12/2: 11/26, 11/27, 11/30, 12/1, 12/2 = 5 working days
    resumed = act(walker, end_pause, "sthj", handling["id"])
    assert resumed["paused_days"] == 5 and resumed["credited_days"] == 5

    moved = calendar.add_working_days(started, 25).at
    assert calendar.working_days_between(plain, moved) == 5
    [after] = walker.ready("handle_item")
    assert after["due_at"] == moved
    assert timers(walker) == {"item_overdue": moved,
                              "item_due_warning": calendar.add_working_days(started, 21).at}
    history = walker.events()
    paused_ev = [e for e in history if e["type"] == "clock_paused"]
    resumed_ev = [e for e in history if e["type"] == "clock_resumed"]
    assert [(e["actor"], e["payload"]["kind"], e["payload"]["article"]) for e in paused_ev] == [
        ("sthj", "expert_review", ART_45)]
    assert [(e["payload"]["kind_label"], e["payload"]["article"]) for e in resumed_ev] == [
        ("专家评审", ART_45)]
    rescheduled = [e for e in history if e["type"] == "timer_rescheduled"
                   and e["payload"]["reason"] != "office_minutes"]
    assert {e["element_id"] for e in rescheduled} == {"item_overdue", "item_due_warning"}
    # The moved timer is the one that fires: nothing on the old deadline.
    assert walker.advance(days=19, hours=9) == []  # 12/21 18:00: the old deadline passed
    fired = walker.advance(days=7)  # 12/28 18:00: the reminder (12/22) and the new deadline
    assert sorted(t.element_id for t in fired) == ["item_due_warning", "item_overdue"]


def test_an_item_referred_to_the_prefecture_never_goes_red_on_the_county(walker: Walker
                                                                         ) -> None:
    from server.services.calendar import REFERRED_UNTIL
    from server.services.clock_pauses import refer_upward, return_from_referral
    from server.services.timers import sweep_deadlines

    handling = to_handling(walker, promised_days=3)
    walker.advance(days=1)
    referred = act(walker, refer_upward, "sthj", handling["id"], level="prefecture",
                   reason="报楚雄州生态环境局审批")
    assert referred["article"] == ART_43 and referred["level_label"] == "州（市）"
    assert set(timers(walker).values()) == {REFERRED_UNTIL}
    [held] = walker.ready("handle_item")
    assert held["due_at"] is None  # 上级审批中: no county deadline to miss
    assert walker.advance(days=60) == []
    counts = walker.run(sweep_deadlines)
    assert counts["red"] == 0
    returned = act(walker, return_from_referral, "sthj", handling["id"], outcome="州局已批复")
    assert returned["deadline"] is not None
    [back] = walker.ready("handle_item")
    # Referred on Tuesday 11/24 after 1 of 3 days; back Monday 1/25/2027: 2 days left.
    calendar = WorkCalendar.default()
    assert back["due_at"] == calendar.add_working_days(walker.clock.now(), 2).at
    types = [(e["type"], e["payload"].get("article")) for e in walker.events()
             if e["type"] in {"item_referred_upward", "item_returned_from_referral"}]
    assert types == [("item_referred_upward", ART_43), ("item_returned_from_referral", ART_43)]


def test_a_calendar_day_statute_counts_weekends(walker: Walker) -> None:
    # 建筑法: 施工许可 within 7 日 — calendar days: Monday 11/23 + 7 = Monday 11/30.
    handling = to_handling(walker, promised_days=7, limit_kind="calendar")
    assert handling["due_at"] == cst(2026, 11, 30, 17, 30)
    working = WorkCalendar.default().add_working_days(walker.clock.now(), 7).at
    assert working == cst(2026, 12, 2, 17, 30)


def test_county_data_changes_the_deadline_and_moves_the_waiting_timer(walker: Walker) -> None:
    from server.services.calendar_changes import load_notice
    from server.services.counties import DAYAO, save_county

    def admin() -> User:
        return db.session.execute(select(User).where(User.username == "admin")).scalar_one()

    walker.run(lambda: save_county(admin(), {**DAYAO, "is_default": "1"}))
    handling = to_handling(walker, promised_days=3)
    # 大姚县 closes at 18:00: Thursday 11/26 18:00.
    assert handling["due_at"] == cst(2026, 11, 26, 18)
    # Office hours changed in the data: the open deadline and its timer move, no code changed.
    walker.run(lambda: save_county(admin(), {**DAYAO, "is_default": "1",
                                             "office_hours": "09:00-12:00 14:30-17:00"}))
    assert walker.ready("handle_item")[0]["due_at"] == cst(2026, 11, 26, 17)
    assert timers(walker)["item_overdue"] == cst(2026, 11, 26, 17)
    # A local notice for 大姚 (a made-up day off on Wednesday 11/25) moves it a day later.
    walker.run(lambda: load_notice(admin(), "2026-11-25 holiday 测试假日", county="dayao"))
    assert walker.ready("handle_item")[0]["due_at"] == cst(2026, 11, 27, 17)
    assert timers(walker)["item_overdue"] == cst(2026, 11, 27, 17)
    assert timers(walker)["item_due_warning"] == cst(2026, 11, 26, 17)
    moved = [e for e in walker.events() if e["type"] == "timer_rescheduled"
             and e["element_id"] in {"item_overdue", "item_due_warning"}]
    assert {e["payload"]["reason"] for e in moved} == {"calendar_changed"}
    # The light threshold is data too: 100 % of the limit makes the item yellow at once.
    walker.run(lambda: save_county(admin(), {**DAYAO, "is_default": "1",
                                             "office_hours": "09:00-12:00 14:30-17:00",
                                             "light_share_percent": "100"}))
    assert timers(walker)["item_due_warning"] < cst(2026, 11, 24)


def test_bad_pause_requests_change_nothing(walker: Walker) -> None:
    from server.services.clock_pauses import end_pause, start_pause
    from server.services.errors import (
        ConflictError,
        PermissionDeniedError,
        ValidationFailedError,
    )
    from tests.conftest import table_counts

    handling = to_handling(walker)
    before = table_counts(walker.app)
    with pytest.raises(ValidationFailedError, match="unknown pause kind"):
        act(walker, start_pause, "sthj", handling["id"], kind="lunch", reason="x", cap_days=3)
    with pytest.raises(ValidationFailedError, match="time needed"):
        act(walker, start_pause, "sthj", handling["id"], kind="hearing", reason="听证",
            cap_days=None)
    with pytest.raises(PermissionDeniedError):
        act(walker, start_pause, "fgj", handling["id"], kind="hearing", reason="听证",
            cap_days=5)
    with pytest.raises(ConflictError, match="no pause is open"):
        act(walker, end_pause, "sthj", handling["id"])
    assert table_counts(walker.app) == before


def test_art_32_restart_gives_the_date_the_law_gives(walker: Walker) -> None:
    from server.services.counties import DAYAO, save_county

    def supplement_then_accept() -> dict[str, Any]:
        handling_due: dict[str, Any] = {}
        walker.do("sthj", "take_task_sheet")            # received Monday 11/23 09:00
        walker.advance(days=2)                           # Wednesday: 补正 asked
        walker.do("sthj", "review_item_materials", acceptance_mode="supplement",
                  supplement_request="公众参与说明")
        walker.advance(days=2)                           # Friday 11/27: materials complete
        walker.do("qiye", "supply_materials", supplied_materials="公众参与说明")
        walker.do("sthj", "review_item_materials", acceptance_mode="accepted")
        [task] = walker.ready("handle_item")
        handling_due["due_at"] = task["due_at"]
        return handling_due

    expand = walker.app.extensions["guanjia.prepare_case_data"]
    walker.app.extensions["guanjia.prepare_case_data"] = lambda d: {
        **expand(d), "items": [{**i, **item(promised_days=3)} for i in expand(d)["items"]]}
    walker.start(item_codes=["env_impact_form"])
    walker.accept()
    walker.hand_over()
    # 受理 on Friday 11/27 once complete (Arts. 32 (五), 42): 3 working days -> Wednesday 12/2.
    assert supplement_then_accept()["due_at"] == cst(2026, 12, 2, 17, 30)
    resumed = walker.events("clock_resumed")[-1]["payload"]
    assert resumed["article"] == "《中华人民共和国行政许可法》第三十二条、第四十二条"
    assert resumed["art32_mode"] == "restart"

    # A county that chose "pause": from receipt Monday 11/23, 补正 (Thursday, Friday) left
    # out: 11/24, 11/25, 11/30 -> Monday 11/30.
    def admin() -> User:
        return db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    walker.run(lambda: save_county(admin(), {**DAYAO, "is_default": "1", "art32_mode": "pause",
                                             "office_hours": "09:00-12:00 14:30-17:30"}))
    walker.clock.set(cst(2026, 11, 23, 9))
    walker.start(item_codes=["env_impact_form"])
    walker.accept()
    walker.hand_over()
    assert supplement_then_accept()["due_at"] == cst(2026, 11, 30, 17, 30)
