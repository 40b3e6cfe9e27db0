"""Policies and the cases they reach (政策推送), shared by the policy tests."""

from __future__ import annotations

import json
import uuid

from flask import Flask
from sqlalchemy import insert, select

from server.engine import clock

POLICY = {"title": "新能源产业扶持政策（2026）", "issuer": "大姚县人民政府",
          "document_no": "姚政发〔2026〕8号", "summary": "光伏、储能项目用地和电价支持",
          "body": "第一条 对在金碧镇落地的新能源项目给予用地保障……",
          "industries": ["energy"], "areas": ["金碧镇"], "min_investment_wan": "10000",
          "valid_from": "2026-01-01", "valid_until": "2027-12-31"}


def policy_case(app: Flask, *, enterprise: str, title: str, industry: str, area: str,
                investment: int, steward: str, status: str = "running",
                county: str | None = None) -> str:
    """A case of ``enterprise`` with the summary the application form would leave."""
    from server.extensions import db
    from server.models import Case, CaseTeam, Deployment, Enterprise

    with app.app_context():
        deployment_id = db.session.execute(select(Deployment.id).limit(1)).scalar_one()
        enterprise_id = db.session.execute(
            select(Enterprise.id).where(Enterprise.name == enterprise)).scalar_one()
        case_id = str(uuid.uuid4())
        summary = {"project_name": title, "enterprise_name": enterprise, "industry": industry,
                   "investment_wan": investment}
        db.session.execute(insert(Case).values(
            id=case_id, reference=f"GJ-P-{case_id[:8]}", deployment_id=deployment_id,
            process_id="concierge_service", title=title, status=status, area=area,
            enterprise_id=enterprise_id, started_by="qiye", started_at=clock.now(),
            state_version=0, event_count=0, envelope="{}", county=county,
            summary=json.dumps(summary, ensure_ascii=False)))
        db.session.add(CaseTeam(case_id=case_id, steward=steward, leader="lingdao",
                                co_agents="[]", updated_by="zhaoshang", updated_at=clock.now()))
        db.session.commit()
        db.session.remove()
    return case_id
