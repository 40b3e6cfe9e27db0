"""Cases with open and finished approval items inserted straight into the tables, for the
dashboard and case-list tests (counts known in advance)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]


def shipped_app(make_app: Any) -> Flask:
    """An app on the shipped processes and forms: industries are named by the application
    form's 行业分类 options."""
    app: Flask = make_app(GUANJIA_FORMS_DIR=str(ROOT / "forms"),
                          GUANJIA_PROCESSES_DIR=str(ROOT / "processes"))
    return app


@dataclass
class SeedItem:
    code: str
    department: str
    due_at: datetime | None
    state: str = "ready"  # ready | completed
    completed_at: datetime | None = None
    owner: str | None = None


@dataclass
class SeedCase:
    title: str
    enterprise: str
    industry: str
    started_at: datetime
    items: list[SeedItem] = field(default_factory=list)
    status: str = "running"
    ended_at: datetime | None = None
    credit_code: str = ""
    project_code: str | None = None
    area: str = ""
    reference: str = ""


def seed_cases(app: Flask, cases: list[SeedCase]) -> list[str]:
    """Insert ``cases`` with one ``handle_item`` row per item; returns the case ids."""
    from sqlalchemy import insert, select

    from server.extensions import db
    from server.models import Case, CaseProject, Deployment, WorkItem, WorkItemGroup

    ids = []
    with app.app_context():
        deployment_id = db.session.execute(select(Deployment.id).limit(1)).scalar_one()
        for n, seed in enumerate(cases):
            case_id = str(uuid.uuid4())
            ids.append(case_id)
            summary = {"project_name": seed.title, "enterprise_name": seed.enterprise,
                       "credit_code": seed.credit_code, "industry": seed.industry}
            db.session.execute(insert(Case).values(
                id=case_id, reference=seed.reference or f"GJ-D-{n:04d}-{case_id[:4]}",
                deployment_id=deployment_id, process_id="concierge_service", title=seed.title,
                status=seed.status, area=seed.area, started_by="qiye",
                started_at=seed.started_at, ended_at=seed.ended_at, state_version=0,
                event_count=0, envelope="{}",
                summary=json.dumps(summary, ensure_ascii=False)))
            if seed.project_code:
                db.session.execute(insert(CaseProject).values(
                    case_id=case_id, project_code=seed.project_code, updated_by="test"))
            for item in seed.items:
                item_id = str(uuid.uuid4())
                context = {**summary, "item": {"code": item.code, "department": item.department}}
                db.session.execute(insert(WorkItem).values(
                    id=item_id, case_id=case_id, element_id="handle_item", name="部门办理审批事项",
                    lane="", form_key="item_handling", candidate_groups=item.department,
                    assignee=item.owner, state=item.state, stage="handling", due_at=item.due_at,
                    due_provisional=False, created_at=seed.started_at,
                    completed_at=item.completed_at,
                    context=json.dumps(context, ensure_ascii=False)))
                db.session.execute(insert(WorkItemGroup).values(
                    work_item_id=item_id, group_code=item.department, state=item.state))
        db.session.commit()
        db.session.remove()
    return ids
