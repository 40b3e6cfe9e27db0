"""The whole concierge service for 12 items from 6 departments, persisted between steps."""

from __future__ import annotations

from collections import Counter

from tests.scenarios.conftest import AGENT_OF, TWELVE_ITEMS, Walker


def test_twelve_items_from_six_departments_run_in_parallel_to_completion(walker: Walker) -> None:
    walker.start(item_codes=TWELVE_ITEMS)
    walker.accept()
    walker.reload()
    walker.hand_over()

    # 专窗吹哨: one task sheet per item, each addressed to the department that owns it.
    sheets = walker.ready("take_task_sheet")
    assert Counter(s["groups"] for s in sheets) == {
        "dept_zrzy": 3, "dept_fgj": 2, "dept_zjj": 2, "dept_sthj": 2, "dept_sw": 2,
        "dept_scjg": 1}
    # The 30-minute call is a real timer row per sheet.
    assert Counter(t["element_id"] for t in walker.timers()) == {"report_timeout": 12}

    for department, agent in AGENT_OF.items():
        while walker.ready("take_task_sheet") and any(
                s["groups"] == department for s in walker.ready("take_task_sheet")):
            walker.do(agent, "take_task_sheet", group=department)
    walker.reload()
    assert walker.ready_ids() == ["review_item_materials"] * 12
    assert walker.timers() == []  # every department came in time

    for department, agent in AGENT_OF.items():
        for _ in range(len([s for s in sheets if s["groups"] == department])):
            walker.do(agent, "review_item_materials", group=department)
    handling = walker.ready("handle_item")
    assert len(handling) == 12 and all(h["due_at"] is not None for h in handling)
    # Each item waits on its yellow and red timers.
    assert Counter(t["element_id"] for t in walker.timers()) == {"item_due_warning": 12,
                                                                 "item_overdue": 12}
    walker.reload()
    for department, agent in AGENT_OF.items():
        while any(h["groups"] == department for h in walker.ready("handle_item")):
            walker.do(agent, "handle_item", group=department)
            walker.do("zhuanchuang", "notify_enterprise_of_result")
        if department == "dept_zrzy":
            walker.reload()

    assert walker.ready_ids() == ["fill_completion_sheet"]
    assert walker.timers() == []

    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    # The standard loop refs collected one result per item, in the case's data.
    results = walker.data()["item_results"]
    assert sorted(r["code"] for r in results) == sorted(TWELVE_ITEMS)
    assert {r["outcome"] for r in results} == {"approved"}
    assert walker.data()["case_outcome"] == "completed"
    walker.reload()
    walker.close(rating="5")

    assert walker.case()["status"] == "completed"
    assert walker.case()["ended_at"] is not None
    assert not walker.ready()
    items = walker.work_items()
    assert {w["state"] for w in items} == {"completed"}
    # Every department agent completed exactly the tasks of its own items.
    done_by = Counter(w["completed_by"] for w in items if w["element_id"] == "handle_item")
    assert done_by == {"zrzy": 3, "fgj": 2, "zjj": 2, "sthj": 2, "shuiwu": 2, "scjg": 1}
    ended = walker.events("case_ended")
    assert [e["payload"] for e in ended] == [{"status": "completed"}]
