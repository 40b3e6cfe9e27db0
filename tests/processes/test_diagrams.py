"""The diagrams parse, carry full BPMN-DI, and run: walked by element id through guanjia's
engine, each step written to rows and the case rebuilt from them before the next."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from lxml import etree

from server.engine.clock import FrozenClock
from tests.helpers.diagram_walk import PROCESSES, EngineCase, shipped_specs

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
GROUPS = {
    "enterprise",
    "bureau",
    "bureau_head",
    "leader",
    "window",
    "steward",
    "expert",
    "dept_fgj",
    "dept_zrzy",
    "dept_zjj",
    "dept_sthj",
    "dept_scjg",
    "dept_sw",
    "dept_lc",
    "dept_yj",
    "dept_sw_tax",
}
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "boundaryEvent",
    "userTask",
    "scriptTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
)

ITEMS = [
    {
        "code": "fgj_project_filing",
        "name": "企业投资项目备案",
        "department": "dept_fgj",
        "promised_days": 3,
    },
    {
        "code": "zrzy_land_use_planning",
        "name": "建设用地规划许可证",
        "department": "dept_zrzy",
        "promised_days": 5,
    },
    {
        "code": "sthj_eia_approval",
        "name": "环境影响评价审批",
        "department": "dept_sthj",
        "promised_days": 15,
    },
]
APPLICATION = {
    "project_name": "年产10万吨绿色硅材料项目",
    "enterprise_name": "云南某新材料有限公司",
    "industry": "manufacturing",
    "project_location": "大姚县工业园区",
    "investment_wan": 80000,
    "policy_compliant": True,
    "contact_name": "李明",
    "contact_phone": "0878-6222000",
    "items": ITEMS,
}


def diagrams() -> list:
    return sorted(PROCESSES.glob("*.bpmn"))


# ---- static checks ----------------------------------------------------------------------------


def test_all_diagrams_parse_as_a_deployment_parses_them() -> None:
    specs = shipped_specs()
    assert set(specs.process_ids()) >= {"concierge_service", "department_item"}
    subprocesses = specs.subprocess_specs["concierge_service"]
    assert "department_item" in subprocesses
    assert "deliver_service" in subprocesses  # the embedded sub-process that holds the service
    assert specs.names["concierge_service"] == "重大招商引资项目帮办代办服务"


@pytest.mark.parametrize("path", diagrams(), ids=lambda p: p.name)
def test_diagram_has_full_di_and_snake_case_ids(path) -> None:
    tree = etree.parse(str(path))
    shapes = {s.get("bpmnElement"): s for s in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    nodes = [n for tag in FLOW_NODES for n in tree.iterfind(f".//bpmn:{tag}", NS)]
    assert nodes
    for node in nodes:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", node.get("id")), node.get("id")
        assert node.get("id") in shapes, f"no shape for {node.get('id')}"
    for flow in tree.iterfind(".//bpmn:sequenceFlow", NS):
        assert flow.get("id") in edges, f"no edge for {flow.get('id')}"
    for lane in tree.iterfind(".//bpmn:lane", NS):
        assert lane.get("id") in shapes, f"no shape for {lane.get('id')}"
    # No two task shapes overlap.
    boxes = []
    for node in nodes:
        if node.tag.endswith(("Task", "callActivity", "Gateway")) or node.tag.endswith("Event"):
            if node.tag.endswith("boundaryEvent"):
                continue
            b = shapes[node.get("id")].find("dc:Bounds", NS)
            boxes.append(
                (node.get("id"), *(float(b.get(k)) for k in ("x", "y", "width", "height")))
            )
    for i, (a, ax, ay, aw, ah) in enumerate(boxes):
        for b, bx, by, bw, bh in boxes[i + 1 :]:
            overlap = ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
            assert not overlap, f"{a} overlaps {b}"


@pytest.mark.parametrize("path", diagrams(), ids=lambda p: p.name)
def test_user_tasks_name_known_groups(path) -> None:
    tree = etree.parse(str(path))
    for task in tree.iterfind(".//bpmn:userTask", NS):
        groups = task.get(f"{CAMUNDA}candidateGroups")
        assert groups, f"{task.get('id')} has no candidateGroups"
        if groups.startswith("${"):
            assert groups == "${item['department']}"
        else:
            assert set(groups.split(",")) <= GROUPS, groups
        due = task.get(f"{CAMUNDA}dueDate")
        if due:
            # A due date is computed by a function or, where pauses move it, by a script
            # task before the user task (item_deadline in department_item); an enterprise's
            # own step by the county's limit (enterprise_reply_due).
            pattern = (r"\$\{(due_in_(working_days|minutes)\(.+\)|item_deadline"
                       r"|enterprise_reply_due\(\))\}")
            assert re.fullmatch(pattern, due), due


def test_main_process_contract() -> None:
    tree = etree.parse(str(PROCESSES / "concierge_service.bpmn"))
    process = tree.find("bpmn:process", NS)
    assert process.get("id") == "concierge_service"
    assert process.get("name") == "重大招商引资项目帮办代办服务"
    rule = tree.find(".//bpmn:businessRuleTask[@id='check_service_scope']", NS)
    assert rule.get(f"{CAMUNDA}decisionRef") == "service_scope"
    mi_task = tree.find(".//bpmn:callActivity[@id='handle_items']", NS)
    assert mi_task.get("calledElement") == "department_item"
    mi = mi_task.find("bpmn:multiInstanceLoopCharacteristics", NS)
    assert mi.get("isSequential") in (None, "false")
    assert mi.get(f"{CAMUNDA}collection") == "items"
    assert mi.get(f"{CAMUNDA}elementVariable") == "item"
    team = tree.find(".//bpmn:userTask[@id='form_steward_team']", NS)
    assert team.get(f"{CAMUNDA}dueDate") == "${due_in_working_days(1)}"
    boundary = tree.find(".//bpmn:boundaryEvent[@id='service_terminated']", NS)
    assert boundary.get("attachedToRef") == "deliver_service"
    assert boundary.get("cancelActivity") in (None, "true")
    item = etree.parse(str(PROCESSES / "department_item.bpmn"))
    io = item.find("bpmn:process/bpmn:ioSpecification", NS)
    assert [d.get("id") for d in io.iterfind("bpmn:dataInput", NS)] == ["item"]
    assert [d.get("id") for d in io.iterfind("bpmn:dataOutput", NS)] == ["item_result"]
    timer = item.find(".//bpmn:boundaryEvent[@id='report_timeout']//bpmn:timeDuration", NS)
    assert timer.text == '"PT30M"'


# ---- the service scope decision ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compliant", "investment", "in_scope"),
    [(True, 5000, True), (True, 80000, True), (True, 4999.5, False), (False, 80000, False)],
)
def test_service_scope_decision(
    new_case, compliant: bool, investment: float, in_scope: bool
) -> None:
    case = new_case()
    case.start({**APPLICATION, "policy_compliant": compliant, "investment_wan": investment})
    scope = case.ready()[0].data["scope"]
    assert scope["in_scope"] is in_scope
    assert scope["reason"]
    assert case.ready_ids() == (["review_application"] if in_scope else ["notify_rejection"])


# ---- walks -------------------------------------------------------------------------------------


def accept(case: EngineCase) -> None:
    case.start(APPLICATION)
    case.complete(
        "review_application", {"review_decision": "approve", "review_opinion": "已签约，成熟度高"}
    )
    case.complete("sign_acceptance", {"sign_decision": "approve", "signer_name": "张局长"})
    case.complete(
        "form_steward_team",
        {
            "responsible_leader": "王副县长",
            "steward_name": "赵管家",
            "team_members": "发改、自然资源、生态环境帮办代办员",
        },
    )


def hand_over(case: EngineCase) -> None:
    case.complete("draft_service_plan", {"plan_items": "三项", "lead_agent": "赵管家"})
    case.complete("agree_service_plan", {"plan_decision": "agree"})
    case.complete("hand_over_to_window", {"handover_summary": "当面交接"})
    case.complete(
        "sign_entrustment_agreement", {"agreement_no": "DY-2024-001", "agreement_signed": True}
    )
    case.complete("issue_one_time_notice", {"notice_materials": "一次性告知"})
    case.complete("issue_task_sheets", {"task_sheet_no": "RW-001", "dispatch_method": "phone"})


def handle_item(case: EngineCase, mode: str = "accepted") -> None:
    case.complete("review_item_materials", {"acceptance_mode": mode})
    if mode == "supplement":
        case.complete("supply_materials", {"supplied_materials": "补正材料"})
        case.complete("review_item_materials", {"acceptance_mode": "accepted"})
    elif mode == "missing_materials":
        case.complete(
            "record_missing_pledge", {"pledge_signed": True, "pledge_due_date": "2026-12-04"}
        )
        # The item is handled while the missing materials are awaited; both must finish.
        case.complete("submit_missing_materials", {"missing_materials_supplied": "消防图纸"})
    elif mode == "commitment":
        case.complete("sign_commitment", {"commitment_signed": True})
    case.complete("handle_item", {"item_outcome": "approved", "handling_opinion": "准予许可"})
    case.complete("notify_enterprise_of_result", {"notify_method": "phone"})


def test_happy_path_with_three_items(new_case) -> None:
    case = new_case()
    accept(case)
    assert case.ready_ids() == ["draft_service_plan"]
    case.complete("draft_service_plan", {"plan_items": "三项"})
    case.complete("agree_service_plan", {"plan_decision": "revise", "plan_feedback": "调整时序"})
    assert case.ready_ids() == ["draft_service_plan"]
    hand_over(case)

    # 专窗吹哨: one task sheet per item, each routed to its department.
    sheets = [t for t in case.ready() if t.element_id == "take_task_sheet"]
    assert sorted(t.candidate_groups[0] for t in sheets) == [
        "dept_fgj",
        "dept_sthj",
        "dept_zrzy",
    ]
    for _ in ITEMS:
        case.complete("take_task_sheet", {"receiver_name": "部门代办员", "receipt_signed": True})
    # The three items go through the three special acceptance modes, interleaved.
    assert case.ready_ids() == ["review_item_materials"] * 3
    handle_item(case, "supplement")
    handle_item(case, "missing_materials")
    handle_item(case, "commitment")

    assert case.ready_ids() == ["fill_completion_sheet"]
    results = case.ready()[0].data["item_results"]
    assert [r["code"] for r in results] == [i["code"] for i in ITEMS]
    case.complete("fill_completion_sheet", {"completion_summary": "三项均已办结"})
    case.complete("sign_completion_sheet", {"completion_confirmed": True})
    case.complete("evaluate_service", {"satisfaction_level": "5"})
    assert case.ready_ids() == ["return_visit"]
    case.complete("return_visit", {"visit_record": "企业满意"})
    case.complete("archive_case", {"archive_no": "DA-2024-001"})
    assert case.completed
    assert case.data()["case_outcome"] == "completed"
    assert "call_back_and_rectify" not in case.completed_ids()
    assert {"service_completed", "case_archived"} <= case.completed_ids()


def test_rejection_at_intake_out_of_scope(new_case) -> None:
    case = new_case()
    case.start({**APPLICATION, "investment_wan": 3000})
    assert case.ready_ids() == ["notify_rejection"]
    assert "5000" in case.ready()[0].data["scope"]["reason"]
    case.complete("notify_rejection", {"rejection_reason": "投资规模低于5000万元"})
    assert case.completed
    assert "application_rejected" in case.completed_ids()
    assert "review_application" not in case.completed_ids()


@pytest.mark.parametrize("stage", ["review", "sign"])
def test_rejection_by_bureau_or_leader(new_case, stage: str) -> None:
    case = new_case()
    case.start(APPLICATION)
    if stage == "review":
        case.complete(
            "review_application", {"review_decision": "reject", "review_opinion": "不成熟"}
        )
    else:
        case.complete("review_application", {"review_decision": "approve", "review_opinion": "ok"})
        case.complete("sign_acceptance", {"sign_decision": "reject", "sign_opinion": "暂缓"})
    assert case.ready_ids() == ["notify_rejection"]
    case.complete("notify_rejection", {"rejection_reason": "项目成熟度不足"})
    assert case.completed
    assert "form_steward_team" not in case.completed_ids()


def test_termination_at_any_time_cancels_open_work(new_case) -> None:
    case = new_case()
    accept(case)
    hand_over(case)
    case.complete("take_task_sheet", {"receiver_name": "x"})
    assert "review_item_materials" in case.ready_ids()
    case.send_message("terminate_service", {"reason": "enterprise_request"})
    assert case.ready_ids() == ["fill_termination_sheet"]
    case.complete(
        "fill_termination_sheet",
        {"termination_reason": "enterprise_request", "termination_detail": "企业调整投资计划"},
    )
    case.complete("sign_termination_sheet", {"termination_confirmed": True})
    assert case.ready_ids() == ["evaluate_service"]
    case.complete("evaluate_service", {"satisfaction_level": "2"})
    assert case.ready_ids() == ["call_back_and_rectify"]
    case.complete(
        "call_back_and_rectify", {"callback_record": "核实", "rectification_measures": "整改"}
    )
    case.complete("return_visit", {"visit_record": "回访"})
    case.complete("archive_case", {"archive_no": "DA-2024-002"})
    assert case.completed
    assert "service_completed" not in case.completed_ids()
    assert "fill_completion_sheet" not in case.completed_ids()


def test_termination_during_plan(new_case) -> None:
    case = new_case()
    accept(case)
    case.send_message("terminate_service", {"reason": "policy_change"})
    assert case.ready_ids() == ["fill_termination_sheet"]


# ---- the department item on its own ----------------------------------------------------


def start_item(new_case, promised_days: int = 3) -> EngineCase:
    case = new_case("department_item")
    case.start({"item": {**ITEMS[0], "promised_days": promised_days}})
    return case


def test_department_not_reporting_in_30_minutes_is_escalated_to_the_steward(
    new_case, clock: FrozenClock
) -> None:
    case = start_item(new_case)
    [task] = case.ready()
    assert task.element_id == "take_task_sheet"
    assert task.candidate_groups == ["dept_fgj"]
    case.advance(minutes=29)
    assert case.ready_ids() == ["take_task_sheet"]
    case.advance(minutes=2)
    assert case.ready_ids() == ["urge_department_report"]
    case.complete("urge_department_report", {"report_urge_note": "已电话催促"})
    # The department is called again, with a fresh 30 minutes.
    assert case.ready_ids() == ["take_task_sheet"]
    case.complete("take_task_sheet", {"receiver_name": "x"})
    assert case.ready_ids() == ["review_item_materials"]


def test_due_warning_overdue_urging_and_joint_meeting(new_case, clock: FrozenClock) -> None:
    case = start_item(new_case, promised_days=3)  # Monday: due Thursday
    case.complete("take_task_sheet", {"receiver_name": "x"})
    case.complete("review_item_materials", {"acceptance_mode": "accepted"})
    assert case.ready_ids() == ["handle_item"]
    case.advance(days=1, hours=1)  # Tuesday: nothing yet
    assert case.ready_ids() == ["handle_item"]
    # Due at the close of Thursday's office day (17:30 in the county), the yellow light a
    # working day before: Wednesday 17:30.
    [handling] = case.ready()
    assert handling.due_at is not None and handling.due_at.isoformat() == \
        "2026-11-26T09:30:00+00:00"
    case.advance(days=1, hours=8)  # Wednesday 18:00 in the county: yellow
    assert case.ready_ids() == ["handle_item", "remind_item_due"]
    case.complete("remind_item_due", {"due_reminder_note": "已提醒"})
    case.advance(days=1)  # Thursday 18:00, after the due time: red
    assert case.ready_ids() == ["handle_item", "urge_overdue_item"]
    case.complete("urge_overdue_item", {"overdue_reason": "材料复杂"})
    case.complete("supervise_overdue_item", {"supervision_opinion": "加快办理"})
    case.complete("handle_item", {"item_outcome": "joint_meeting", "handling_opinion": "需协调"})
    assert case.ready_ids() == ["decide_in_joint_meeting"]
    case.complete("decide_in_joint_meeting", {"meeting_decision": "容缺受理，并联审批"})
    # Back to the department with the same deadline, which has passed: red again at once.
    assert case.ready_ids() == ["handle_item", "remind_item_due", "urge_overdue_item"]
    case.complete("remind_item_due", {"due_reminder_note": "已提醒"})
    case.complete("urge_overdue_item", {"overdue_reason": "会后仍超期"})
    case.complete("supervise_overdue_item", {"supervision_opinion": "限期办结"})
    case.complete("handle_item", {"item_outcome": "approved", "handling_opinion": "准予许可"})
    case.complete("notify_enterprise_of_result", {"notify_method": "document"})
    assert case.completed
    result = case.data()["item_result"]
    assert result["code"] == ITEMS[0]["code"]
    assert result["outcome"] == "approved"
    assert result["notify_method"] == "document"


def test_item_results_are_collected_with_the_standard_loop_refs(new_case) -> None:
    """handle_items carries loopDataOutputRef item_results / outputDataItem item_result.

    Camunda's own reading writes the unchanged ``item`` back into ``items``; guanjia's parser
    reads the standard references (docs/engine.md §6), so every instance's ``item_result`` is
    collected into ``item_results``, in the order of the items.
    """
    case = new_case()
    accept(case)
    hand_over(case)
    for _ in ITEMS:
        case.complete("take_task_sheet", {"receiver_name": "x"})
    for _ in ITEMS:
        handle_item(case)
    [task] = case.ready()
    assert task.element_id == "fill_completion_sheet"
    results = task.data["item_results"]
    assert [r["code"] for r in results] == [i["code"] for i in ITEMS]
    assert {r["outcome"] for r in results} == {"approved"}
    assert "item" not in task.data


def test_an_item_waits_for_its_prerequisites_until_released(new_case) -> None:
    """``department_item``: an item with open prerequisites waits at wait_for_prerequisites
    (no task, no deadline) until a message released to that instance alone lets it go on;
    its clock records receipt at the task sheet and starts only at 受理."""
    case = new_case()
    first, second, third = (dict(i) for i in ITEMS)
    first["waiting_for"] = []
    second["waiting_for"] = [first["code"]]
    third["waiting_for"] = [first["code"]]
    case.start({**APPLICATION, "items": [first, second, third]})
    case.complete("review_application", {"review_decision": "approve"})
    case.complete("sign_acceptance", {"sign_decision": "approve"})
    case.complete("form_steward_team", {"steward_name": "赵管家"})
    hand_over(case)
    sheets = [t for t in case.ready() if t.element_id == "take_task_sheet"]
    assert [t.data["item"]["code"] for t in sheets] == [first["code"]]
    waiting = case.engine.message_waits(case.live, "item_released")
    assert [w.element_id for w in waiting] == ["wait_for_prerequisites"] * 2
    assert sorted(w.data["item"]["code"] for w in waiting) == sorted(
        [second["code"], third["code"]])

    case.complete("take_task_sheet", {"receiver_name": "部门代办员"})
    [review] = [t for t in case.ready() if t.element_id == "review_item_materials"]
    assert review.data["item_clock"]["received_at"] == case.clock.now().isoformat()
    assert review.data["item_clock"]["started_at"] is None  # not yet 受理
    case.clock.advance(timedelta(hours=2))
    case.complete("review_item_materials", {"acceptance_mode": "accepted"})
    [handling] = [t for t in case.ready() if t.element_id == "handle_item"]
    assert handling.data["item_clock"]["started_at"] == case.clock.now().isoformat()
    case.complete("handle_item", {"item_outcome": "approved", "handling_opinion": "准予"})
    case.complete("notify_enterprise_of_result", {"notify_method": "phone"})
    assert case.ready_ids() == []

    # Released to one instance only: the other still waits.
    [target] = [w for w in case.engine.message_waits(case.live, "item_released")
                if w.data["item"]["code"] == second["code"]]
    case.release(target.task_id, "item_released", {"reason": "prerequisites_done"})
    sheets = [t for t in case.ready() if t.element_id == "take_task_sheet"]
    assert [t.data["item"]["code"] for t in sheets] == [second["code"]]
    [last] = case.engine.message_waits(case.live, "item_released")
    assert last.data["item"]["code"] == third["code"]

    # The plan drops the last waiting item: no task sheet, a result that says so.
    case.release(last.task_id, "item_released", {"dropped": True, "reason": "并入联合验收"})
    [sheet] = [t for t in case.ready() if t.element_id == "take_task_sheet"]
    assert sheet.data["item"]["code"] == second["code"]
    assert case.engine.message_waits(case.live, "item_released") == []
    # The second item is handled; the service goes on with all three results, the dropped
    # one saying so.
    case.complete("take_task_sheet", {"receiver_name": "部门代办员"})
    handle_item(case)
    [completion] = case.ready()
    assert completion.element_id == "fill_completion_sheet"
    results = {r["code"]: r for r in completion.data["item_results"]}
    assert sorted(results) == sorted(i["code"] for i in ITEMS)
    assert results[third["code"]]["outcome"] == "dropped"
    assert results[third["code"]]["opinion"] == "并入联合验收"
    assert results[second["code"]]["outcome"] == "approved"


def test_every_shipped_process_has_a_walk_here() -> None:
    """A diagram added to processes/ fails this until a walk above runs it through the engine
    (the walks above: concierge_service from intake to archive, rejection and termination;
    department_item on its own and as the call activity of every item)."""
    assert set(shipped_specs().process_ids()) == {"concierge_service", "department_item"}
