"""Items staged as real approvals proceed (issue 11): a 12-item, 4-stage project.

On day 1 only items whose prerequisites the case does not include are called; the others wait
with no work item, no deadline and no light. 施工许可 opens when its prerequisites are done —
or earlier, only by the steward's recorded 并联 decision — and its clock starts at 受理.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from server.extensions import db
from server.models import Case, User
from server.rules.catalog import Catalog
from server.rules.lights import Light, item_light
from server.rules.workdays import WorkCalendar
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from server.services.item_progress import item_progress
from server.services.staging import release_item_early
from tests.conftest import table_counts
from tests.scenarios.conftest import Walker

STAGE_ITEMS = [
    # 立项用地规划许可
    "project_filing", "land_pre_review", "land_transfer_contract", "land_use_planning_permit",
    # 工程建设许可
    "construction_planning_permit", "env_impact_form", "fire_design_review",
    "soil_water_conservation",
    # 施工许可
    "construction_permit",
    # 竣工验收
    "fire_acceptance", "planning_verification", "completion_filing",
]
PERMIT_PREREQUISITES = ["construction_planning_permit", "env_impact_form", "fire_design_review",
                        "soil_water_conservation"]


def _progress(walker: Walker) -> dict[str, Any]:
    from server.models import WorkItem

    def go() -> dict[str, Any]:
        case = db.session.get(Case, walker.case_id)
        assert case is not None
        rows = list(db.session.execute(db.select(WorkItem).where(
            WorkItem.case_id == case.id)).scalars())
        return {p.code: p for p in item_progress(case, rows)}
    return walker.run(go)  # type: ignore[no-any-return]


def _release(walker: Walker, username: str, code: str, **form: str) -> None:
    def go() -> None:
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        release_item_early(user, walker.case_id, code, mode=form.get("mode", "parallel"),
                           reason=form.get("reason", ""))
    walker.run(go)


def _to_task_sheets(walker: Walker) -> None:
    walker.start(item_codes=STAGE_ITEMS)
    walker.accept()
    walker.hand_over()


def test_day_one_calls_only_first_stage_items_and_every_light_is_green(walker: Walker) -> None:
    catalog = Catalog.default()
    assert {catalog.get(c).stage for c in STAGE_ITEMS} == {
        "立项用地规划许可", "工程建设许可", "施工许可", "竣工验收"}
    _to_task_sheets(walker)
    sheets = walker.ready("take_task_sheet")
    called = sorted(s["item_code"] for s in sheets)
    assert called == ["land_transfer_contract", "project_filing"]
    assert {catalog.get(c).stage for c in called} == {"立项用地规划许可"}
    # Later stages carry no work item, so no deadline and no light that could turn red.
    items = {w["element_id"] for w in walker.ready()}
    assert items == {"take_task_sheet"}
    progress = _progress(walker)
    waiting = [p for p in progress.values() if p.state == "waiting"]
    assert len(waiting) == 10
    assert all(p.due_at is None and p.light is None for p in waiting)
    assert progress["construction_permit"].open_prerequisites == [
        "建设工程规划许可证核发", "特殊建设工程消防设计审查", "环境影响报告表审批",
        "生产建设项目水土保持方案审批"]
    # The called items are accepted the same day: their deadlines are days away, all green.
    walker.do("fgj", "take_task_sheet")
    walker.do("zrzy", "take_task_sheet")
    walker.do("fgj", "review_item_materials")
    walker.do("zrzy", "review_item_materials")
    calendar = WorkCalendar.default()
    handling = walker.ready("handle_item")
    assert len(handling) == 2
    assert {item_light(h["due_at"], walker.clock.now(), calendar) for h in handling} == {
        Light.GREEN}
    assert {p.light for p in _progress(walker).values() if p.state == "working"} == {"green"}


def test_construction_permit_opens_after_its_prerequisites_and_its_clock_starts_at_acceptance(
        walker: Walker) -> None:
    _to_task_sheets(walker)
    opened: list[list[str]] = []
    while "construction_permit" not in {s["item_code"] for s in walker.ready("take_task_sheet")}:
        wave = [s["item_code"] for s in walker.ready("take_task_sheet")]
        assert wave, "the permit never opened"
        opened.append(walker.work_open_items())
    done_before = {c for wave in opened for c in wave}
    assert set(PERMIT_PREREQUISITES) <= done_before
    assert opened[-1] == ["fire_design_review"]  # the last prerequisite to finish
    [released] = [e for e in walker.events("item_released")
                  if e["payload"]["item_code"] == "construction_permit"]
    assert sorted(released["payload"]["prerequisites"]) == sorted(PERMIT_PREREQUISITES)

    # Received on the task sheet; five days of 补正; the clock starts at 受理.
    received = walker.clock.now()
    walker.do("zjj", "take_task_sheet")
    walker.do("zjj", "review_item_materials", acceptance_mode="supplement",
              supplement_request="施工合同")
    walker.advance(days=5)
    walker.do("qiye", "supply_materials")
    accepted = walker.clock.now()
    walker.do("zjj", "review_item_materials")
    [handling] = walker.ready("handle_item")
    # Whichever way the county counts 3 days, they run from 受理, not from the sheet.
    assert handling["due_at"] >= accepted + timedelta(days=3)
    walker.do("zjj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    permit = next(r for r in _results_so_far(walker) if r["code"] == "construction_permit")
    assert datetime.fromisoformat(permit["received_at"]) == received
    assert datetime.fromisoformat(permit["started_at"]) == accepted
    # 竣工验收 follows the permit.
    assert sorted(s["item_code"] for s in walker.ready("take_task_sheet")) == [
        "fire_acceptance", "planning_verification"]


def _results_so_far(walker: Walker) -> list[dict[str, Any]]:
    from server.services.staging import RELEASE_MESSAGE
    from server.services.store import case_store

    def go() -> list[dict[str, Any]]:
        case = db.session.get(Case, walker.case_id)
        assert case is not None
        waits = case_store().engine.message_waits(case_store().load(case), RELEASE_MESSAGE)
        return list(waits[0].caller_data.get("item_results") or [])
    return walker.run(go)  # type: ignore[no-any-return]


def test_only_a_recorded_parallel_decision_opens_the_permit_early(
        walker: Walker, concierge_app: Flask) -> None:
    _to_task_sheets(walker)
    before = table_counts(concierge_app)
    # A department agent may not decide it; the steward must say how and why.
    with pytest.raises(PermissionDeniedError):
        _release(walker, "zjj", "construction_permit", reason="企业急需开工")
    with pytest.raises(ValidationFailedError) as err:
        _release(walker, "guanjia", "construction_permit", reason="  ")
    assert set(err.value.errors) == {"reason"}
    with pytest.raises(ValidationFailedError):
        _release(walker, "guanjia", "construction_permit", mode="whenever", reason="急")
    assert table_counts(concierge_app) == before
    with pytest.raises(ConflictError):
        _release(walker, "guanjia", "project_filing", reason="已推送的事项")  # not waiting

    _release(walker, "guanjia", "construction_permit",
             reason="联席会议决定并联办理，规划许可同步审查")
    assert sorted(s["item_code"] for s in walker.ready("take_task_sheet")) == [
        "construction_permit", "land_transfer_contract", "project_filing"]
    [early] = walker.events("item_released_early")
    assert early["actor"] == "guanjia"
    assert (early["payload"]["item_code"], early["payload"]["mode"]) == (
        "construction_permit", "parallel")
    assert early["payload"]["reason"] == "联席会议决定并联办理，规划许可同步审查"
    assert sorted(early["payload"]["open_prerequisites"]) == sorted(PERMIT_PREREQUISITES)
    assert _progress(walker)["construction_permit"].state == "called"
    with pytest.raises(ConflictError):  # released once; a second decision changes nothing
        _release(walker, "guanjia", "construction_permit", reason="再次")
    # The decision is an input of the case: re-executing the record takes the same path.
    walker.do("zjj", "take_task_sheet", group="dept_zjj")
    assert walker.run(_reexecute, walker.case_id) == (True, "same path and same data")


def _reexecute(case_id: str) -> tuple[bool, str]:
    from server.services.replay import reexecute_case

    result = reexecute_case(db.session.get(Case, case_id))
    return result.ok, result.detail


def test_case_page_shows_waiting_items_and_the_steward_runs_one_early(
        walker: Walker, concierge_app: Flask) -> None:
    from tests.web.helpers import Web

    _to_task_sheets(walker)
    page = f"/cases/{walker.case_id}"
    steward = Web(concierge_app)
    steward.login("guanjia")
    html = steward.text(page)
    assert "建筑工程施工许可证核发" in html and "待前置事项" in html
    assert "等待：建设工程规划许可证核发、特殊建设工程消防设计审查" in html
    assert "并联/容缺提前办理" in html and '<option value="drop">从服务方案撤销</option>' in html
    action = f"{page}/items/construction_permit/release"
    refused = steward.post(action, {"mode": "parallel", "reason": ""}, token_from=page)
    assert refused.status_code == 422 and "请填写理由" in refused.get_data(as_text=True)
    done = steward.post(action, {"mode": "parallel", "reason": "联席会议决定并联"},
                        token_from=page)
    assert done.status_code == 302
    assert "<b>并联/容缺提前办理</b>" in steward.text(page)  # the timeline names the decision
    # An agent sees the states but not the decision form; the enterprise follows it too.
    agent = Web(concierge_app)
    agent.login("zjj")
    assert "release-form" not in agent.text(page)
    enterprise = Web(concierge_app)
    enterprise.login("qiye")
    portal = enterprise.text(f"/portal/cases/{walker.case_id}")
    assert "已推送任务单" in portal and "待前置事项" in portal
    # The department's task sheet shows its item as the catalog describes it.
    permit = Catalog.default().get("construction_permit")
    sheet = next(s for s in walker.ready("take_task_sheet")
                 if s["item_code"] == "construction_permit")
    task_page = agent.text(f"/tasks/{sheet['id']}")
    assert permit.legal_basis in task_page and permit.materials[-1] in task_page
    assert "7 自然日" in task_page  # 建筑法: 日, counted as calendar days


def test_admin_page_edits_a_department_and_the_case_page_uses_the_new_name(
        walker: Walker, concierge_app: Flask) -> None:
    from tests.web.helpers import Web

    _to_task_sheets(walker)
    admin = Web(concierge_app)
    admin.login("admin")
    listing = admin.text("/admin/groups")
    assert "dept_zjj" in listing and "dept_qx" in listing  # the member units are data
    assert "住建局" in admin.text("/admin/groups?edit=dept_zjj")
    renamed = admin.post("/admin/groups", {"code": "dept_zjj", "name": "住房和城乡建设局",
                                           "name_en": "Housing Bureau", "kind": "department"},
                         token_from="/admin/groups")
    try:
        assert renamed.status_code == 302
        steward = Web(concierge_app)
        steward.login("guanjia")
        assert "住房和城乡建设局" in steward.text(f"/cases/{walker.case_id}")
    finally:
        # The seeded groups outlive this test on PostgreSQL: give the next one its 住建局 back.
        admin.post("/admin/groups", {"code": "dept_zjj", "name": "住建局",
                                     "name_en": "Housing and Construction Bureau",
                                     "kind": "department"}, token_from="/admin/groups")
    # Only administrators edit departments.
    assert steward.post("/admin/groups", {"code": "dept_zjj", "name": "x",
                                          "kind": "department"},
                        token_from="/tasks").status_code == 403


def _plan(walker: Walker, **plan: Any) -> None:
    walker.start(item_codes=STAGE_ITEMS)
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team")
    walker.do("guanjia", "draft_service_plan", **plan)


def _rest_of_hand_over(walker: Walker) -> None:
    walker.do("qiye", "agree_service_plan")
    walker.do("zhaoshang", "hand_over_to_window")
    walker.do("zhuanchuang", "sign_entrustment_agreement")
    walker.do("zhuanchuang", "issue_one_time_notice")
    walker.do("zhuanchuang", "issue_task_sheets")


def test_the_plan_adds_and_drops_items_and_works_the_timetable_back_from_the_target(
        walker: Walker, concierge_app: Flask) -> None:
    from tests.web.helpers import Web

    chosen = [c for c in STAGE_ITEMS if c != "planning_verification"] + ["temporary_land_use"]
    _plan(walker, plan_item_codes=chosen, plan_target_date="2027-06-30")
    [changed] = walker.events("plan_items_changed")
    assert changed["actor"] == "guanjia"
    assert changed["payload"] == {
        "added": [{"code": "temporary_land_use", "name": "临时用地审批"}],
        "dropped": [{"code": "planning_verification", "name": "建设工程规划条件核实"}]}
    data = walker.data()
    assert [i["code"] for i in data["items"]] == chosen
    completion = next(i for i in data["items"] if i["code"] == "completion_filing")
    assert completion["waiting_for"] == ["fire_acceptance"]  # the dropped item is not awaited

    # 倒排工期: every item has planned dates; the last ones end on the target; an item starts
    # only after the items it waits for end.
    rows = {r["code"]: r for r in data["plan_timetable"]}
    assert set(rows) == set(chosen)
    assert rows["completion_filing"]["planned_end"] == "2027-06-30"
    assert rows["temporary_land_use"]["planned_end"] == "2027-06-30"
    for item in data["items"]:
        for before in item["waiting_for"]:
            assert rows[before]["planned_end"] <= rows[item["code"]]["planned_start"]
    assert "建筑工程施工许可证核发：" in data["plan_timeline"]

    _rest_of_hand_over(walker)
    assert sorted(s["item_code"] for s in walker.ready("take_task_sheet")) == [
        "land_transfer_contract", "project_filing", "temporary_land_use"]
    enterprise = Web(concierge_app)
    enterprise.login("qiye")
    portal = enterprise.text(f"/portal/cases/{walker.case_id}")
    assert "临时用地审批" in portal and "建设工程规划条件核实" not in portal
    assert 'class="gantt"' in portal
    steward = Web(concierge_app)
    steward.login("guanjia")
    timeline = steward.text(f"/cases/{walker.case_id}")
    assert "服务方案调整事项" in timeline
    assert "+临时用地审批" in timeline and "−建设工程规划条件核实" in timeline


def test_the_one_time_notice_lists_exactly_the_catalog_materials(
        walker: Walker, concierge_app: Flask) -> None:
    from tests.web.helpers import Web

    catalog = Catalog.default()
    _plan(walker, plan_item_codes=["project_filing", "construction_permit"])
    walker.do("qiye", "agree_service_plan")
    walker.do("zhaoshang", "hand_over_to_window")
    walker.do("zhuanchuang", "sign_entrustment_agreement")
    # The window's notice opens with the catalog list; whatever is typed, it is what is kept.
    window = Web(concierge_app)
    window.login("zhuanchuang")
    [notice_task] = walker.ready("issue_one_time_notice")
    form = window.text(f"/tasks/{notice_task['id']}")
    assert "1. 企业投资项目备案（发改局）" in form
    assert catalog.get("construction_permit").materials[0] in form
    walker.do("zhuanchuang", "issue_one_time_notice", notice_materials="随手写的清单")
    walker.do("zhuanchuang", "issue_task_sheets")
    data = walker.data()
    assert [(n["code"], n["materials"]) for n in data["notice_list"]] == [
        (code, list(catalog.get(code).materials))
        for code in ("project_filing", "construction_permit")]
    text = data["notice_materials"]
    every = [m for code in ("project_filing", "construction_permit")
             for m in catalog.get(code).materials]
    assert all(m in text for m in every)
    dropped = [m for m in catalog.get("land_pre_review").materials if m not in every]
    assert dropped and not any(m in text for m in dropped)
    assert "随手写的清单" not in text
    assert data["plan_materials"] == text  # the plan and the notice say the same


def test_the_gantt_marks_an_item_late_once_today_passes_its_planned_end(
        walker: Walker, concierge_app: Flask) -> None:
    from tests.web.helpers import Web

    _plan(walker, plan_item_codes=["project_filing", "land_pre_review"])
    _rest_of_hand_over(walker)
    rows = {r["code"]: r for r in walker.data()["plan_timetable"]}
    assert rows["land_pre_review"]["planned_start"] == rows["project_filing"]["planned_end"]
    steward = Web(concierge_app)
    steward.login("guanjia")
    page = f"/cases/{walker.case_id}"
    html = steward.text(page)
    assert '<g class="gantt-row" data-item="project_filing">' in html
    walker.do("fgj", "take_task_sheet")
    walker.do("fgj", "review_item_materials")
    walker.advance(days=7)  # past the planned end, not done
    html = steward.text(page)
    assert '<g class="gantt-row late" data-item="project_filing">' in html
    assert '<g class="gantt-row" data-item="land_pre_review">' in html  # not due to end yet
    assert 'class="today"' in html


def test_a_plan_without_items_is_refused_and_changes_nothing(
        walker: Walker, concierge_app: Flask) -> None:
    walker.start(item_codes=STAGE_ITEMS)
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team")
    before = table_counts(concierge_app)
    with pytest.raises(ValidationFailedError) as err:
        walker.do("guanjia", "draft_service_plan", plan_item_codes=[])
    assert list(err.value.errors) == ["plan_item_codes"]
    with pytest.raises(ValidationFailedError) as err:
        walker.do("guanjia", "draft_service_plan", plan_item_codes=["project_filing", "nope"])
    assert list(err.value.errors) == ["plan_item_codes"]
    assert table_counts(concierge_app) == before


def test_an_item_accepted_on_trust_opens_its_dependants_only_when_it_is_closed(
        walker: Walker) -> None:
    walker.start(item_codes=["project_filing", "land_pre_review"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    walker.do("fgj", "review_item_materials", acceptance_mode="missing_materials")
    walker.do("qiye", "record_missing_pledge", pledge_due_date="2026-11-27")
    walker.do("fgj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    # 备案 is decided but its missing materials are still owed: 用地预审 keeps waiting.
    assert walker.ready_ids() == ["submit_missing_materials"]
    walker.reload()
    walker.do("qiye", "submit_missing_materials")
    assert [s["item_code"] for s in walker.ready("take_task_sheet")] == ["land_pre_review"]
    [released] = walker.events("item_released")
    assert released["actor"] == "qiye"  # the enterprise's submission closed 备案


def test_a_refused_prerequisite_keeps_its_dependant_waiting_until_the_steward_decides(
        walker: Walker) -> None:
    walker.start(item_codes=["project_filing", "land_pre_review"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    walker.do("fgj", "review_item_materials")
    walker.do("fgj", "handle_item", item_outcome="not_approved", handling_opinion="不予备案")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    assert walker.ready("take_task_sheet") == []
    waiting = _progress(walker)["land_pre_review"]
    assert (waiting.state, waiting.open_prerequisites) == ("waiting", ["企业投资项目备案"])
    _release(walker, "lingdao", "land_pre_review", mode="on_trust",
             reason="备案整改后重新申报，用地预审容缺先行")
    assert [s["item_code"] for s in walker.ready("take_task_sheet")] == ["land_pre_review"]
    [early] = walker.events("item_released_early")
    assert (early["actor"], early["payload"]["mode_name"]) == ("lingdao", "容缺办理")


def test_terminating_a_case_cancels_its_waiting_items_too(walker: Walker) -> None:
    _to_task_sheets(walker)
    walker.terminate("qiye", "企业调整投资计划")
    assert walker.ready_ids() == ["fill_termination_sheet"]
    assert walker.timers() == []
    with pytest.raises(ConflictError):
        _release(walker, "guanjia", "construction_permit", reason="终止后")


def test_the_steward_drops_a_waiting_item_after_the_hand_over(walker: Walker) -> None:
    _to_task_sheets(walker)
    _release(walker, "guanjia", "planning_verification", mode="drop",
             reason="规划核实并入竣工联合验收")
    [changed] = walker.events("plan_items_changed")
    assert changed["actor"] == "guanjia"
    assert (changed["payload"]["dropped"], changed["payload"]["while"]) == (
        [{"code": "planning_verification", "name": "建设工程规划条件核实"}], "handling")
    progress = _progress_with_drops(walker)
    assert progress["planning_verification"].state == "dropped"
    # 竣工验收备案 no longer waits for it.
    assert progress["completion_filing"].open_prerequisites == ["特殊建设工程消防验收"]
    worked = []
    while walker.ready("take_task_sheet"):
        worked += walker.work_open_items()
    assert "planning_verification" not in worked and len(worked) == 11
    assert walker.ready_ids() == ["fill_completion_sheet"]
    dropped = [r for r in walker.data()["item_results"] if r["outcome"] == "dropped"]
    assert [(r["code"], r["opinion"]) for r in dropped] == [
        ("planning_verification", "规划核实并入竣工联合验收")]
    assert walker.run(_reexecute, walker.case_id) == (True, "same path and same data")


def _progress_with_drops(walker: Walker) -> dict[str, Any]:
    from server.models import WorkItem
    from server.services.cases import case_history

    def go() -> dict[str, Any]:
        case = db.session.get(Case, walker.case_id)
        assert case is not None
        rows = list(db.session.execute(db.select(WorkItem).where(
            WorkItem.case_id == case.id)).scalars())
        dropped = {d["code"] for e in case_history(case) if e.type == "plan_items_changed"
                   for d in e.payload.get("dropped", [])}
        return {p.code: p for p in item_progress(case, rows, None, dropped)}
    return walker.run(go)  # type: ignore[no-any-return]
