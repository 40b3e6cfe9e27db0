"""Scenario fixtures: the real concierge process, walked through the services and the database.

Every step is one service call in its own app context (its own session), so what a step sees
is what the previous one committed; ``Walker.reload`` also drops the live workflow so the next
step rebuilds it from the database rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import AuditEvent, Case, PendingTimer, User, WorkItem
from server.rules.archive import RECORDS as ARCHIVE_RECORDS
from server.services.cases import start_case
from server.services.store import case_store
from server.services.tasks import complete_task
from server.services.timers import fire_case_timers

ROOT = Path(__file__).resolve().parents[2]
PROCESS = "concierge_service"

# 12 catalog items owned by the 6 departments that have a seeded agent.
TWELVE_ITEMS = [
    "company_registration",                                               # dept_scjg
    "project_filing", "energy_review",                                    # dept_fgj
    "land_pre_review", "land_use_planning_permit", "construction_planning_permit",  # dept_zrzy
    "fire_design_review", "construction_permit",                          # dept_zjj
    "env_impact_report", "pollution_discharge_permit",                    # dept_sthj
    "soil_water_conservation", "water_abstraction_permit",                # dept_sw
]
AGENT_OF = {"dept_scjg": "scjg", "dept_fgj": "fgj", "dept_zrzy": "zrzy", "dept_zjj": "zjj",
            "dept_sthj": "sthj", "dept_sw": "shuiwu"}

APPLICATION: dict[str, Any] = {
    "project_name": "年产10万吨绿色硅材料项目",
    "enterprise_name": "企业甲",
    "industry": "manufacturing",
    "project_location": "大姚县工业园区",
    "investment_wan": 80000,
    "policy_compliant": True,
    "investment_agreement_signed": True,
    "project_summary": "签约落地的重大制造业项目",
    "service_mode": "full",
    "item_codes": ["project_filing"],
    "contact_name": "李明",
    "contact_phone": "0878-6222000",
    "applicant_declaration": True,
}

# A valid submission for every form a walk meets; a step may override fields.
FORM_DATA: dict[str, dict[str, Any]] = {
    "application_review": {"review_decision": "approve", "review_opinion": "已签约，成熟度高"},
    "acceptance_sign": {"sign_decision": "approve", "signer_name": "张局长"},
    "rejection_notice": {"rejection_reason": "不符合服务范围", "rejection_notify_method": "phone",
                         "rejection_notified_at": "2026-11-23"},
    "steward_team": {"steward_username": "guanjia", "leader_username": "lingdao",
                     "team_members": "发改、自然资源、住建、生态环境、市场监管、水务代办员"},
    "service_plan": {"plan_items": "见事项清单", "plan_materials": "一次性告知材料",
                     "lead_agent": "赵管家", "plan_timeline": "三个月", "plan_route_map": "并联"},
    "service_plan_agreement": {"plan_decision": "agree"},
    "hand_over": {"handover_summary": "当面交接", "enterprise_liaison": "李明",
                  "liaison_phone": "0878-6222000", "handed_over_at": "2026-11-23",
                  "pushed_to_departments": True},
    "entrustment_agreement": {"agreement_no": "DY-2026-001", "entrusted_scope": "full",
                              "entrusted_items": "全部事项", "principal_signatory": "李明",
                              "agent_signatory": "赵管家", "agreement_signed_on": "2026-11-23",
                              "free_service_acknowledged": True, "agreement_signed": True},
    "one_time_notice": {"notice_items": "全部事项", "notice_materials": "材料清单",
                        "notice_time_limits": "按承诺时限", "notice_delivered_by": "document",
                        "notice_received": True},
    "task_sheet": {"task_sheet_no": "RW-001", "task_requirements": "按服务方案办理",
                   "dispatch_method": "phone", "dispatched_at": "2026-11-23"},
    "task_sheet_receipt": {"receiver_name": "部门代办员", "receiver_phone": "0878-6220000",
                           "received_at": "2026-11-23", "department_notice": "一次性告知",
                           "receipt_signed": True},
    "report_urge": {"report_urge_method": "phone", "report_urge_note": "已电话催促"},
    "item_acceptance": {"acceptance_mode": "accepted"},
    "material_supplement": {"supplied_materials": "补正后的材料"},
    "missing_materials_pledge": {"pledge_materials": "消防设计图纸",
                                 "pledge_due_date": "2026-11-27", "pledge_signed": True},
    "missing_materials_submission": {"missing_materials_supplied": "消防设计图纸",
                                     "missing_materials_supplied_on": "2026-12-01"},
    "missing_materials_urge": {"missing_urge_method": "phone",
                               "missing_urge_note": "企业承诺下周一送达"},
    "commitment_letter": {"commitment_conditions": "符合条件", "commitment_signed": True},
    "item_handling": {"item_outcome": "approved", "handling_opinion": "准予许可"},
    "due_reminder": {"due_reminder_note": "已提醒部门"},
    "overdue_urge": {"overdue_reason": "材料复杂", "expected_finish_date": "2026-12-01",
                     "overdue_urge_note": "已催办"},
    "overdue_supervision": {"supervision_opinion": "限期办结"},
    "joint_meeting": {"meeting_date": "2026-11-30", "meeting_attendees": "各部门",
                      "meeting_issue": "需协调", "meeting_decision": "并联审批"},
    "result_notice": {"notify_method": "phone", "result_notified_at": "2026-11-23",
                      "result_filed": True},
    "completion_sheet": {"completion_summary": "全部事项已办结", "materials_handed_over": "批文",
                         "handed_over_on": "2026-12-01"},
    "completion_sign": {"completion_signatory": "李明", "completion_confirmed": True},
    "termination_sheet": {"termination_reason": "enterprise_request",
                          "termination_detail": "企业调整投资计划",
                          "materials_returned": "原件退还"},
    "termination_sign": {"termination_signatory": "李明", "termination_confirmed": True},
    "satisfaction_evaluation": {"satisfaction_level": "5"},
    "rectification": {"callback_record": "已回访核实", "rectification_measures": "督促整改",
                      "rectification_fed_back": True},
    "return_visit": {"visit_date": "2026-12-10", "visit_method": "phone", "visit_record": "满意"},
    "enterprise_silence": {"silence_reason": "企业负责人出国，联系不上",
                           "silence_contact_attempts": "11月30日电话提醒；12月1日短信提醒"},
    "archive": {"archive_no": "DA-2026-001", "archive_contents": list(ARCHIVE_RECORDS),
                "archived_by": "专窗"},
}


class Walker:
    """Drive one case of the real process step by step, as its users would."""

    def __init__(self, app: Flask, clock: FrozenClock) -> None:
        self.app = app
        self.clock = clock
        self.case_id = ""

    def _user(self, username: str) -> User:
        return db.session.execute(select(User).where(User.username == username)).scalar_one()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn`` inside a fresh app context (its own session)."""
        with self.app.app_context():
            return fn(*args)

    def start(self, username: str = "qiye", **data: Any) -> str:
        def go() -> str:
            case = start_case(self._user(username), PROCESS, {**APPLICATION, **data})
            return case.id
        self.case_id = self.run(go)
        return self.case_id

    def ready(self, element_id: str | None = None) -> list[dict[str, Any]]:
        """The case's open work items, as plain dicts."""
        return self.run(self._ready, element_id)  # type: ignore[no-any-return]

    def _ready(self, element_id: str | None) -> list[dict[str, Any]]:
        query = select(WorkItem).where(WorkItem.case_id == self.case_id,
                                       WorkItem.state == "ready")
        if element_id:
            query = query.where(WorkItem.element_id == element_id)
        return [{"id": w.id, "element_id": w.element_id, "groups": w.candidate_groups,
                 "form_key": w.form_key, "due_at": w.due_at, "name": w.name,
                 "item_code": (json.loads(w.context or "{}").get("item") or {}).get("code")}
                for w in db.session.execute(query.order_by(WorkItem.created_at)).scalars()]

    def ready_ids(self) -> list[str]:
        return sorted(w["element_id"] for w in self.ready())

    def do(self, username: str, element_id: str, *, group: str | None = None,
           **overrides: Any) -> dict[str, Any]:
        """Complete the (first) open ``element_id`` task, optionally of one candidate group."""
        def go() -> dict[str, Any]:
            user = self._user(username)
            items = [w for w in self._ready(element_id)
                     if (group is None or w["groups"] == group)
                     and set(w["groups"].split(",")) & user.group_codes]
            assert items, f"{element_id} is not open for {username}; open: {self.ready_ids()}"
            item = items[0]
            complete_task(user, item["id"], {**FORM_DATA[item["form_key"]], **overrides})
            return item
        return self.run(go)  # type: ignore[no-any-return]

    def reload(self) -> None:
        """Drop the live workflow: the next step restores it from the database."""
        self.run(lambda: case_store().forget(self.case_id))

    def advance(self, **delta: float) -> list[Any]:
        """Move the clock and fire what fell due, as the worker's sweep does."""
        self.clock.advance(timedelta(**delta))
        return self.run(fire_case_timers, self.case_id)  # type: ignore[no-any-return]

    def case(self) -> dict[str, Any]:
        def go() -> dict[str, Any]:
            case = db.session.get(Case, self.case_id)
            assert case is not None
            return {"status": case.status, "ended_at": case.ended_at, "reference": case.reference}
        return self.run(go)  # type: ignore[no-any-return]

    def data(self) -> dict[str, Any]:
        from server.services.case_state import live_data as case_data

        def go() -> dict[str, Any]:
            case = db.session.get(Case, self.case_id)
            assert case is not None
            return case_data(case)
        return self.run(go)  # type: ignore[no-any-return]

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        def go() -> list[dict[str, Any]]:
            query = select(AuditEvent).where(AuditEvent.case_id == self.case_id)
            if type_:
                query = query.where(AuditEvent.type == type_)
            return [{"type": e.type, "actor": e.actor, "element_id": e.element_id,
                     "payload": e.payload, "at": e.at, "task_id": e.task_id}
                    for e in db.session.execute(query.order_by(AuditEvent.case_seq)).scalars()]
        return self.run(go)  # type: ignore[no-any-return]

    def work_items(self) -> list[dict[str, Any]]:
        def go() -> list[dict[str, Any]]:
            return [{"id": w.id, "element_id": w.element_id, "state": w.state,
                     "completed_by": w.completed_by, "due_at": w.due_at}
                    for w in db.session.execute(select(WorkItem).where(
                        WorkItem.case_id == self.case_id)).scalars()]
        return self.run(go)  # type: ignore[no-any-return]

    def timers(self) -> list[dict[str, Any]]:
        def go() -> list[dict[str, Any]]:
            return [{"element_id": t.element_id, "due_at": t.due_at, "task_id": t.task_id}
                    for t in db.session.execute(select(PendingTimer).where(
                        PendingTimer.case_id == self.case_id)
                        .order_by(PendingTimer.due_at)).scalars()]
        return self.run(go)  # type: ignore[no-any-return]

    # ---- stretches of the process -------------------------------------------------------
    def accept(self) -> None:
        self.do("zhaoshang", "review_application")
        self.do("juzhang", "sign_acceptance")

    def hand_over(self) -> None:
        """From acceptance to the task sheets: team, plan, agreement, notice, sheets."""
        self.do("zhuanchuang", "form_steward_team")
        self.do("guanjia", "draft_service_plan")
        self.do("qiye", "agree_service_plan")
        self.do("zhaoshang", "hand_over_to_window")
        self.do("zhuanchuang", "sign_entrustment_agreement")
        self.do("zhuanchuang", "issue_one_time_notice")
        self.do("zhuanchuang", "issue_task_sheets")

    def work_open_items(self, agents: dict[str, str] | None = None) -> list[str]:
        """Every item whose task sheet is out is taken, accepted, handled and notified;
        returns the codes of the items worked in this wave, sorted."""
        agents = agents or AGENT_OF
        sheets = self.ready("take_task_sheet")
        for sheet in sheets:
            self.do(agents[sheet["groups"]], "take_task_sheet", group=sheet["groups"])
        for review in self.ready("review_item_materials"):
            self.do(agents[review["groups"]], "review_item_materials", group=review["groups"])
        for handling in self.ready("handle_item"):
            self.do(agents[handling["groups"]], "handle_item", group=handling["groups"])
            self.do("zhuanchuang", "notify_enterprise_of_result")
        return sorted(str(s["item_code"]) for s in sheets)

    def terminate(self, proposer: str = "qiye", detail: str = "企业调整投资计划，主动申请终止",
                  reason_code: str = "enterprise_request", leader: str = "lingdao") -> None:
        """Propose a termination and have the responsible leader approve it (004 §五(八))."""
        from server.services.termination import decide_termination, propose_termination

        self.run(lambda: propose_termination(self._user(proposer), self.case_id, reason_code,
                                             detail))
        self.run(lambda: decide_termination(self._user(leader), self.case_id, approve=True,
                                            note="同意终止"))

    def close(self, rating: str = "5") -> None:
        """Evaluation, return visit and archive (after completion or termination)."""
        self.do("qiye", "evaluate_service", satisfaction_level=rating)
        if int(rating) <= 2:
            self.do("zhuanchuang", "call_back_and_rectify")
        self.do("zhuanchuang", "return_visit")
        self.do("zhuanchuang", "archive_case")


@pytest.fixture
def concierge_app(make_app: Any) -> Flask:
    app: Flask = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                          GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    return app


@pytest.fixture
def walker(concierge_app: Flask, frozen_clock: FrozenClock) -> Walker:
    return Walker(concierge_app, frozen_clock)
