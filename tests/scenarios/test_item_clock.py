"""补正 pauses an item's clock; 容缺受理 lets handling start while materials are still due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from server.rules.lights import Light, item_light
from server.rules.workdays import Pause, WorkCalendar
from tests.scenarios.conftest import Walker

CST = ZoneInfo("Asia/Shanghai")


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_a_supplement_before_acceptance_does_not_run_the_clock(walker: Walker) -> None:
    """行政许可法 Art. 32: the period runs from 受理 (materials complete), not from receipt."""
    calendar = WorkCalendar.default()
    walker.start(item_codes=["project_filing"])  # 发改局, promised 3 working days
    walker.accept()
    walker.hand_over()
    received = walker.clock.now()
    assert received == cst(2026, 11, 23, 9)  # Monday
    walker.do("fgj", "take_task_sheet")
    walker.advance(hours=1)
    walker.do("fgj", "review_item_materials", acceptance_mode="supplement",
              supplement_request="缺项目符合产业政策的声明")
    walker.reload()
    assert walker.ready_ids() == ["supply_materials"]
    # The enterprise takes three days: Tuesday, Wednesday and Thursday.
    walker.advance(days=3)
    walker.do("qiye", "supply_materials")
    walker.reload()
    accepted = walker.clock.now()
    walker.do("fgj", "review_item_materials")  # 受理: the clock starts now, Thursday 10:00

    pause = Pause(cst(2026, 11, 23, 10), cst(2026, 11, 26, 10), "补正")
    expected = calendar.add_working_days(accepted, 3)
    assert expected.at == cst(2026, 12, 1, 17, 30)  # three working days after Thursday
    assert calendar.add_working_days(received, 3).at == cst(2026, 11, 26, 17, 30)
    [handling] = walker.ready("handle_item")
    assert handling["due_at"] == expected.at
    timers = {t["element_id"]: t["due_at"] for t in walker.timers()}
    assert timers == {"item_overdue": expected.at,
                      "item_due_warning": cst(2026, 11, 30, 17, 30)}
    # On the day the item would have been due counted from receipt it is still green.
    assert item_light(handling["due_at"], cst(2026, 11, 26, 16), calendar) is Light.GREEN

    walker.do("fgj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    [result] = walker.data()["item_results"]
    # Received at the task sheet, started at 受理; the 补正 before it is recorded, not counted.
    assert datetime.fromisoformat(result["received_at"]) == received
    assert datetime.fromisoformat(result["started_at"]) == accepted
    assert result["paused_working_days"] == 0
    assert datetime.fromisoformat(result["deadline"]) == expected.at
    assert [(p["start"], p["end"], p["reason"]) for p in result["pauses"]] == [
        (pause.start.astimezone(UTC).isoformat(), pause.end.astimezone(UTC).isoformat(), "补正")]
    # Who asked for the supplement and when the materials came back is in the audit trail.
    completed = [(e["element_id"], e["actor"], e["at"]) for e in walker.events("task_completed")
                 if e["element_id"] in {"review_item_materials", "supply_materials"}]
    assert completed[:2] == [("review_item_materials", "fgj", pause.start),
                             ("supply_materials", "qiye", pause.end)]


def _complete_with_clock_events(walker: Walker, username: str, element_id: str,
                                data: dict[str, object]) -> None:
    """One step through ``complete_task``: the clock events are audited in that step."""
    walker.do(username, element_id, **data)


def test_every_pause_is_audited_with_the_moved_deadline(walker: Walker) -> None:
    walker.start(item_codes=["soil_water_conservation"])  # 水务局, promised 10 working days
    walker.accept()
    walker.hand_over()
    started = walker.clock.now()
    walker.do("shuiwu", "take_task_sheet")
    _complete_with_clock_events(walker, "shuiwu", "review_item_materials",
                                {"acceptance_mode": "supplement",
                                 "supplement_request": "公众参与说明"})
    walker.advance(days=2)  # to Wednesday
    _complete_with_clock_events(walker, "qiye", "supply_materials",
                                {"supplied_materials": "公众参与说明"})
    _complete_with_clock_events(walker, "shuiwu", "review_item_materials",
                                {"acceptance_mode": "supplement", "supplement_request": "盖章页"})
    walker.advance(days=1)  # to Thursday
    _complete_with_clock_events(walker, "qiye", "supply_materials",
                                {"supplied_materials": "盖章页"})
    _complete_with_clock_events(walker, "shuiwu", "review_item_materials",
                                {"acceptance_mode": "accepted"})

    paused = [e for e in walker.events() if e["type"] in {"clock_paused", "clock_resumed"}]
    assert {e["payload"]["item_code"] for e in paused} == {"soil_water_conservation"}
    assert [(e["type"], e["actor"]) for e in paused] == [
        ("clock_paused", "shuiwu"), ("clock_resumed", "qiye"),
        ("clock_paused", "shuiwu"), ("clock_resumed", "qiye")]
    assert [e["payload"]["request"] for e in paused if e["type"] == "clock_paused"] == [
        "公众参与说明", "盖章页"]
    resumed = [e["payload"] for e in paused if e["type"] == "clock_resumed"]
    assert [r["paused_working_days"] for r in resumed] == [2, 3]
    # Both supplements came before 受理: the period had not begun, so no deadline moved.
    assert [r["deadline"] for r in resumed] == [None, None]
    # The department works to 10 working days from 受理 (Thursday).
    calendar = WorkCalendar.default()
    [handling] = walker.ready("handle_item")
    assert handling["due_at"] == calendar.add_working_days(started + timedelta(days=3), 10).at


def test_missing_materials_arrive_late_and_the_steward_urges(walker: Walker) -> None:
    walker.start(item_codes=["fire_design_review"])  # 住建局, promised 10 working days
    walker.accept()
    walker.hand_over()
    walker.do("zjj", "take_task_sheet")
    walker.do("zjj", "review_item_materials", acceptance_mode="missing_materials")
    walker.do("qiye", "record_missing_pledge", pledge_due_date="2026-11-25")
    walker.reload()
    # 容缺受理: the department handles the item while the enterprise still owes the drawings.
    assert walker.ready_ids() == ["handle_item", "submit_missing_materials"]
    late = [t for t in walker.timers() if t["element_id"] == "missing_materials_late"]
    assert [t["due_at"] for t in late] == [cst(2026, 11, 25, 17, 30)]

    walker.do("zjj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    # The item is not closed while its materials are missing.
    assert walker.ready_ids() == ["submit_missing_materials"]
    assert walker.advance(days=2, hours=8) == []  # Wednesday 17:00: not yet late
    fired = walker.advance(hours=1)               # Wednesday 18:00: the pledge is broken
    assert [t.element_id for t in fired] == ["missing_materials_late"]
    walker.reload()
    assert walker.ready_ids() == ["submit_missing_materials", "urge_missing_materials"]
    walker.do("guanjia", "urge_missing_materials")
    walker.advance(days=5)
    walker.do("qiye", "submit_missing_materials", missing_materials_note="图纸返工，逾期补齐")
    assert walker.ready_ids() == ["fill_completion_sheet"]
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    [result] = walker.data()["item_results"]
    assert (result["code"], result["acceptance_mode"]) == ("fire_design_review",
                                                           "missing_materials")
    walker.close()
    assert walker.case()["status"] == "completed"
