"""Supervision under a controllable clock: yellow, red, urging and escalation; the 30-minute
call (a bad rating's call-back is in test_intake_and_termination.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server.rules.lights import Light, item_light
from server.rules.workdays import WorkCalendar
from server.services.timers import sweep_deadlines
from tests.scenarios.conftest import Walker

CST = ZoneInfo("Asia/Shanghai")


def test_overdue_item_turns_yellow_then_red_is_urged_and_escalated(walker: Walker) -> None:
    calendar = WorkCalendar.default()
    # Two items neither of which waits for the other (消防验收备案 waits only for 施工许可,
    # which this case does not include).
    walker.start(item_codes=["fire_acceptance_filing", "company_registration"])
    walker.accept()
    walker.hand_over()
    walker.do("zjj", "take_task_sheet")
    walker.do("zjj", "review_item_materials")      # 3 working days: due Thursday 17:30
    walker.do("scjg", "take_task_sheet")
    walker.do("scjg", "review_item_materials")     # 1 working day: due Tuesday 17:30
    filing = next(h for h in walker.ready("handle_item") if h["groups"] == "dept_zjj")
    due = {h["groups"]: h["due_at"] for h in walker.ready("handle_item")}
    assert due == {"dept_zjj": datetime(2026, 11, 26, 17, 30, tzinfo=CST),
                   "dept_scjg": datetime(2026, 11, 24, 17, 30, tzinfo=CST)}
    walker.do("scjg", "handle_item")               # registration done in time
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    assert walker.timers()[0]["element_id"] == "item_due_warning"

    assert walker.advance(days=1) == []            # Tuesday 09:00: green, nothing fires
    assert item_light(filing["due_at"], walker.clock.now(), calendar) is Light.GREEN
    fired = walker.advance(days=1, hours=9)        # Wednesday 18:00: one day left
    assert [t.element_id for t in fired] == ["item_due_warning"]
    assert item_light(filing["due_at"], walker.clock.now(), calendar) is Light.YELLOW
    walker.reload()
    assert walker.ready_ids() == ["handle_item", "remind_item_due"]
    walker.do("guanjia", "remind_item_due")
    walker.run(sweep_deadlines)
    assert walker.advance(hours=15) == []          # Thursday 09:00: due today, still yellow

    fired = walker.advance(days=1)                 # Friday 09:00: overdue
    assert [t.element_id for t in fired] == ["item_overdue"]
    assert item_light(filing["due_at"], walker.clock.now(), calendar) is Light.RED
    counts = walker.run(sweep_deadlines)
    assert counts["red"] >= 1
    # 催办 by the steward, then 督办 by the leader: the escalation chain.
    assert walker.ready_ids() == ["handle_item", "urge_overdue_item"]
    walker.do("guanjia", "urge_overdue_item")
    walker.reload()
    assert walker.ready_ids() == ["handle_item", "supervise_overdue_item"]
    walker.do("lingdao", "supervise_overdue_item")
    # A hard problem goes to the joint meeting, and the item keeps its deadline afterwards.
    walker.do("zjj", "handle_item", item_outcome="joint_meeting", handling_opinion="需联合预审")
    walker.do("lingdao", "decide_in_joint_meeting")
    [again] = walker.ready("handle_item")
    assert again["due_at"] == filing["due_at"]
    # Back in handling and still overdue: red again at once, and the steward urges again.
    assert walker.ready_ids() == ["handle_item", "remind_item_due", "urge_overdue_item"]
    walker.do("guanjia", "remind_item_due")
    walker.do("guanjia", "urge_overdue_item")
    walker.do("lingdao", "supervise_overdue_item")
    walker.do("zjj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    assert walker.ready_ids() == ["fill_completion_sheet"]
    assert walker.timers() == []
    fired_events = [e["element_id"] for e in walker.events("timer_fired")]
    assert fired_events == ["item_due_warning", "item_overdue"]
    actors = {e["element_id"]: e["actor"] for e in walker.events("task_completed")}
    assert (actors["urge_overdue_item"], actors["supervise_overdue_item"]) == ("guanjia",
                                                                              "lingdao")


def test_task_sheet_not_taken_in_30_minutes_calls_the_steward(walker: Walker) -> None:
    walker.start(item_codes=["project_filing", "temporary_land_use"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    [late] = walker.ready("take_task_sheet")
    assert late["due_at"] == walker.clock.now() + timedelta(minutes=30)  # 30 office minutes
    assert walker.advance(minutes=29) == []
    # 原则上30分钟: past the 30 minutes the call is yellow with a reminder, not yet escalated;
    # the escalation waits for the county's grace (the installation default: 30 minutes).
    assert walker.advance(minutes=2) == []
    counts = walker.run(sweep_deadlines)
    assert counts["red"] == 0

    def reminders() -> list[tuple[str, str]]:
        from tests.helpers.notices import inbox_of, told

        key = f"late_call:{late['id']}"
        return [(name, n.title) for name in sorted(told(lambda n: n.dedupe_key == key))
                for n in inbox_of(name) if n.dedupe_key == key]
    assert [u for u, title in walker.run(reminders) if title.startswith("报到提醒")] == ["zrzy"]
    assert walker.advance(minutes=28) == []
    fired = walker.advance(minutes=2)
    assert [t.element_id for t in fired] == ["report_timeout"]
    walker.reload()
    # The late department's sheet is withdrawn; the steward urges, then the window calls again.
    assert walker.ready_ids() == ["review_item_materials", "urge_department_report"]
    walker.do("guanjia", "urge_department_report")
    sheets = walker.ready("take_task_sheet")
    assert [s["groups"] for s in sheets] == ["dept_zrzy"]
    assert sheets[0]["due_at"] == walker.clock.now() + (sheets[0]["due_at"] - walker.clock.now())
    assert [t["element_id"] for t in walker.timers()] == ["report_timeout"]
    walker.do("zrzy", "take_task_sheet")
    assert walker.ready_ids() == ["review_item_materials", "review_item_materials"]
    cancelled = [w for w in walker.work_items() if w["state"] == "cancelled"]
    assert [w["element_id"] for w in cancelled] == ["take_task_sheet"]

