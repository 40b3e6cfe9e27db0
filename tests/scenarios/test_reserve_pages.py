"""Issue 17 (part A) through the pages: the bureau keeps the reserve, converts a signed project
into a case filed for its investor, and leaders read the land review; who may not gets 403."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import Case, Enterprise
from server.models.reserve import ReserveProject
from tests.conftest import table_counts
from tests.scenarios.conftest import APPLICATION
from tests.web.helpers import Web

FORM = {"name": "石羊镇生物医药项目", "investor": "企业甲", "credit_code": "",
        "industry": "health", "investment_wan": "30000", "area": "石羊镇", "leader": "lingdao",
        "department": "bureau", "liaison": "zhaoshang", "next_step": "实地考察",
        "next_step_on": "2026-12-20"}


def _signed_in(app: Flask, username: str) -> Web:
    web = Web(app)
    web.login(username)
    return web


def test_the_bureau_records_moves_and_converts_a_reserve_project_on_its_pages(
        concierge_app: Flask) -> None:
    web = _signed_in(concierge_app, "zhaoshang")
    before = table_counts(concierge_app)
    refused = web.post("/reserve/new", {**FORM, "industry": "mining"}, token_from="/reserve/new")
    assert refused.status_code == 422
    assert "未知的行业" in refused.get_data(as_text=True)
    refused = web.post("/reserve/new", {**FORM, "area": "昆明市"}, token_from="/reserve/new")
    assert refused.status_code == 422 and "未知的乡镇" in refused.get_data(as_text=True)
    assert table_counts(concierge_app) == before

    created = web.post("/reserve/new", FORM, token_from="/reserve/new")
    assert created.status_code == 302
    with concierge_app.app_context():
        rid = db.session.execute(select(ReserveProject.id)).scalar_one()
    listing = web.text("/reserve?industry=health&area=石羊镇")
    assert "石羊镇生物医药项目" in listing
    assert "石羊镇生物医药项目" not in web.text("/reserve?stage=signed")
    board = web.text("/reserve/board")
    talks = board.split('id="column-talks"')[1].split("</section>")[0]
    assert "石羊镇生物医药项目" in talks

    assert 'value="实地考察"' in web.text(f"/reserve/{rid}/edit")
    edited = web.post(f"/reserve/{rid}/edit", {**FORM, "next_step": "签订投资协议"},
                      token_from=f"/reserve/{rid}/edit")
    assert edited.status_code == 302 and "签订投资协议" in web.text(f"/reserve/{rid}")

    no_reason = web.post(f"/reserve/{rid}/stage", {"to_stage": "signed", "reason": ""},
                         token_from=f"/reserve/{rid}")
    assert no_reason.status_code == 422 and "请填写调整原因" in no_reason.get_data(as_text=True)
    moved = web.post(f"/reserve/{rid}/stage", {"to_stage": "signed", "reason": "已签订投资协议"},
                     token_from=f"/reserve/{rid}")
    assert moved.status_code == 302
    page = web.text(f"/reserve/{rid}")
    assert "已签订投资协议" in page and 'id="convert"' in page

    form = web.text(f"/reserve/{rid}/convert")
    assert 'value="石羊镇生物医药项目"' in form
    with concierge_app.app_context():
        enterprise_id = db.session.execute(select(Enterprise.id).where(
            Enterprise.name == "企业甲")).scalar_one()
    rest: dict[str, Any] = {k: v for k, v in APPLICATION.items()
                            if k not in ("item_codes", "policy_compliant",
                                         "applicant_declaration", "investment_agreement_signed")}
    posted = {**rest, "enterprise_mode": "existing", "enterprise_id": str(enterprise_id),
              "item_codes": "project_filing", "policy_compliant": "on",
              "applicant_declaration": "on", "project_name": "别的名字"}
    done = web.post(f"/reserve/{rid}/convert", posted, token_from=f"/reserve/{rid}/convert")
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with concierge_app.app_context():
        case = db.session.execute(select(Case)).scalar_one()
        # The reserve's data wins: its name, not the one typed over it.
        assert (case.title, case.enterprise_id, case.area) == (
            "石羊镇生物医药项目", enterprise_id, "石羊镇")
        case_id = case.id
    assert done.headers["Location"].endswith(f"/cases/{case_id}")
    timeline = web.text(f"/cases/{case_id}")
    assert "<b>代企业申报</b>" in timeline and "<b>application_filed" not in timeline
    assert "落地" in web.text(f"/reserve/{rid}")
    enterprise = _signed_in(concierge_app, "qiye")
    assert "石羊镇生物医药项目" in enterprise.text("/portal")


@pytest.mark.parametrize("who", ["qiye", "fgj"])
def test_enterprises_and_departments_get_403_on_every_reserve_page(concierge_app: Flask,
                                                                    who: str) -> None:
    web = _signed_in(concierge_app, who)
    for path in ("/reserve", "/reserve/board", "/reserve/new", "/reserve/file",
                 "/reserve/aftercare", "/reserve/land-review", "/reserve/land-review.xlsx"):
        assert web.get(path).status_code == 403, path
    before = table_counts(concierge_app)
    response = web.post("/reserve/new", FORM, token_from="/tasks" if who == "fgj" else "/portal")
    assert response.status_code == 403
    assert table_counts(concierge_app) == before


def test_leaders_see_the_reserve_and_the_land_review_but_only_bureau_or_window_file(
        concierge_app: Flask) -> None:
    leader = _signed_in(concierge_app, "lingdao")
    assert leader.get("/reserve").status_code == 200
    assert leader.get("/reserve/file").status_code == 403
    page = leader.text("/reserve/land-review?half=2027-H1")
    assert "本县设置" in page and "002 §三(四)" in page
    assert leader.get("/reserve/land-review?half=2027-H9").status_code == 422
    xlsx = leader.get("/reserve/land-review.xlsx?half=2027-H1")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert any("土地清理" in str(c) for row in sheet.iter_rows(values_only=True) for c in row
               if c is not None)
    steward = _signed_in(concierge_app, "guanjia")
    assert steward.get("/reserve/land-review").status_code == 403
    assert steward.get("/reserve/aftercare").status_code == 200
    window = _signed_in(concierge_app, "zhuanchuang")
    assert "代企业申报" in window.text("/reserve/file")


def test_the_after_care_page_refuses_a_date_before_completion_and_records_progress(
        walker: Any) -> None:
    from datetime import timedelta

    from server.models.aftercare import AftercareProject, Milestone
    from server.services import aftercare
    from tests.helpers.aftercare import _complete

    _complete(walker)
    walker.run(aftercare.sweep_milestones)
    app = walker.app

    def ids() -> tuple[int, str]:
        project = db.session.execute(select(AftercareProject)).scalar_one()
        return project.id, project.completed_on.isoformat()
    aid, done = walker.run(ids)
    steward = _signed_in(app, "guanjia")
    page = steward.text(f"/reserve/aftercare/{aid}")
    assert "开工" in page and "不早于办结日" in page
    before = table_counts(app)
    day_before = (walker.clock.now() - timedelta(days=2)).date().isoformat()
    refused = steward.post(f"/reserve/aftercare/{aid}/progress",
                           {"milestone": "start_work", "happened_on": day_before},
                           token_from=f"/reserve/aftercare/{aid}")
    assert refused.status_code == 422
    assert f"日期不能早于项目办结日 {done}" in refused.get_data(as_text=True)
    assert table_counts(app) == before
    qiye = _signed_in(app, "qiye")
    assert qiye.post(f"/reserve/aftercare/{aid}/progress",
                     {"milestone": "start_work", "happened_on": done},
                     token_from="/portal").status_code == 403
    assert table_counts(app) == before

    ok = steward.post(f"/reserve/aftercare/{aid}/progress",
                      {"milestone": "start_work", "happened_on": done, "invested_wan": "3000",
                       "note": "场平开工"}, token_from=f"/reserve/aftercare/{aid}")
    assert ok.status_code == 302
    page = steward.text(f"/reserve/aftercare/{aid}")
    assert "场平开工" in page and "已达成" in page
    assert walker.run(lambda: db.session.execute(select(Milestone.reached_on).where(
        Milestone.kind == "start_work")).scalar_one().isoformat()) == done
    listing = _signed_in(app, "lingdao").text("/reserve/aftercare")
    assert f"✓ {done}" in listing and "3000 万元" in listing
    bad = steward.post(f"/reserve/aftercare/{aid}/promise", {"intensity": "0", "land_mu": "x"},
                       token_from=f"/reserve/aftercare/{aid}")
    assert bad.status_code == 422 and "应为大于0的数" in bad.get_data(as_text=True)
    promised = steward.post(f"/reserve/aftercare/{aid}/promise",
                            {"intensity": "300", "land_mu": "50"},
                            token_from=f"/reserve/aftercare/{aid}")
    assert promised.status_code == 302
    page = steward.text(f"/reserve/aftercare/{aid}")
    # 3000 万元 over 50 亩 is 60 万元/亩, below the 300 promised.
    assert "承诺 300 万元/亩（用地 50 亩） · 已达 60 万元/亩" in page and "未达承诺" in page


def test_an_administrator_sets_the_countys_milestone_months(concierge_app: Flask) -> None:
    admin = _signed_in(concierge_app, "admin")
    page = admin.text("/reserve/aftercare/settings")
    assert 'id="start_work_months"' in page and 'value="3"' in page and "本县设置" in page
    before = table_counts(concierge_app)
    values = {"county": "", "start_work_months": "0", "production_months": "24",
              "effect_months": "36", "warn_days": "15"}
    bad = admin.post("/reserve/aftercare/settings", values,
                     token_from="/reserve/aftercare/settings")
    assert bad.status_code == 422 and "应为 1–24 的整数" in bad.get_data(as_text=True)
    assert table_counts(concierge_app) == before
    leader = _signed_in(concierge_app, "lingdao")
    assert leader.get("/reserve/aftercare/settings").status_code == 403
    assert leader.post("/reserve/aftercare/settings", {**values, "start_work_months": "6"},
                       token_from="/reserve").status_code == 403
    assert table_counts(concierge_app) == before
    saved = admin.post("/reserve/aftercare/settings", {**values, "start_work_months": "6"},
                       token_from="/reserve/aftercare/settings")
    assert saved.status_code == 302
    assert 'value="6"' in admin.text("/reserve/aftercare/settings")
    assert "办结后 6 个月开工" in leader.text("/reserve/aftercare")

