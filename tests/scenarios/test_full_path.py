"""The whole concierge service for 12 items from 6 departments, persisted between steps.

Items open as their prerequisites (前置事项) in the case are done: the walk works whatever is
open, wave after wave, and the waves follow the catalog's prerequisites.
"""

from __future__ import annotations

from collections import Counter

from tests.scenarios.conftest import TWELVE_ITEMS, Walker

# Prerequisites of TWELVE_ITEMS within the case (server/data/catalog.csv); those the case does
# not include (land transfer contract, 核准, 人防 …) are treated as satisfied.
WAVES = [
    ["company_registration"],
    ["project_filing"],
    ["energy_review", "env_impact_report", "land_pre_review", "land_use_planning_permit",
     "soil_water_conservation", "water_abstraction_permit"],
    ["construction_planning_permit", "pollution_discharge_permit"],
    ["fire_design_review"],
    ["construction_permit"],
]


def test_twelve_items_from_six_departments_run_stage_by_stage_to_completion(
        walker: Walker) -> None:
    walker.start(item_codes=TWELVE_ITEMS)
    walker.accept()
    walker.reload()
    walker.hand_over()

    # 专窗吹哨: only the item without open prerequisites is called; the others wait, with no
    # work item, no deadline and no timer.
    sheets = walker.ready("take_task_sheet")
    assert [(s["item_code"], s["groups"]) for s in sheets] == [
        ("company_registration", "dept_scjg")]
    assert Counter(t["element_id"] for t in walker.timers()) == {"report_timeout": 1}

    waves = []
    while walker.ready("take_task_sheet"):
        waves.append(walker.work_open_items())
        walker.reload()
    assert waves == WAVES
    assert walker.ready_ids() == ["fill_completion_sheet"]
    assert walker.timers() == []
    released = walker.events("item_released")
    assert len(released) == 11 and all(e["payload"]["reason"] == "prerequisites_done"
                                       for e in released)

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
    # Re-executing the recorded inputs, releases included, takes the same path.
    assert walker.run(_reexecute, walker.case_id) == (True, "same path and same data")


def _reexecute(case_id: str) -> tuple[bool, str]:
    from server.extensions import db
    from server.models import Case
    from server.services.replay import reexecute_case

    result = reexecute_case(db.session.get(Case, case_id))
    return result.ok, result.detail
