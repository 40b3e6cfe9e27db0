"""Diagrams, forms and the scope threshold deployed per county, or inherited from the
prefecture's with county overrides (issue 21); the designer's and the administrator's lists
keep to the user's county. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import AuditEvent, Case, Deployment, User
from server.services.coverage import deployment_findings
from server.services.errors import NotFoundError
from server.services.migration import migrate_cases
from server.services.processes import latest_deployment
from server.services.users import ensure_user
from tests.conftest import PASSWORD, Api, table_counts
from tests.helpers.tenancy import A, B, make_counties
from tests.scenarios.conftest import ROOT, Walker
from tests.web.helpers import Web

DMN = "service_scope.dmn"
SHIPPED_DMN = (ROOT / "processes" / DMN).read_text(encoding="utf-8")
#: 大姚's own table: 1亿元 instead of the shipped 5000万元.
DAYAO_DMN = (SHIPPED_DMN.replace("&lt; 5000", "&lt; 10000").replace("&gt;= 5000", "&gt;= 10000")
             .replace("低于5000万元", "低于1亿元"))


@pytest.fixture
def app(make_app: Any, tmp_path: Path) -> Flask:
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    application: Flask = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                                  GUANJIA_FORMS_DIR=str(forms))
    make_counties(application)
    with application.app_context():
        # The prefecture's own designer (the seeded ``sheji`` is 大姚's after make_counties).
        ensure_user("zhou_sheji", "楚雄州 设计", PASSWORD, ["designer"], county=None)
        db.session.commit()
        db.session.remove()
    return application


def deploy(api: Api, user: str, files: dict[str, str], county: str | None = None) -> Any:
    body: dict[str, Any] = {"files": files, "comment": f"{user} deploys"}
    if county is not None:
        body["county"] = county
    return api.client.post("/designer/api/deploy", json=body, headers={
        "Authorization": f"Bearer {api.token(user)}", "X-Guanjia-Designer": "1"})


def scope_of(walker: Walker) -> tuple[list[str], dict[str, Any]]:
    return walker.ready_ids(), walker.data()["scope"]


def deployment_of(app: Flask, case_id: str) -> tuple[int, str | None]:
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        found = (case.deployment.number, case.deployment.county)
        db.session.remove()
    return found


def test_a_countys_threshold_changes_its_scope_decision_only(
        app: Flask, api: Api, frozen_clock: FrozenClock) -> None:
    dayao, yaoan = Walker(app, frozen_clock), Walker(app, frozen_clock)
    # Before: 8000万元 is 重大 in both counties (the prefecture's 5000万元 table).
    dayao_before = dayao.start("qiye", investment_wan=8000)
    yaoan_before = yaoan.start("qiye_b", investment_wan=8000)
    assert dayao.ready_ids() == yaoan.ready_ids() == ["review_application"]
    assert deployment_of(app, dayao_before) == deployment_of(app, yaoan_before) == (1, None)

    # 大姚's designer deploys only the decision table, with a 1亿元 threshold: for 本县.
    deployed = deploy(api, "sheji", {DMN: DAYAO_DMN})
    assert deployed.status_code == 201, deployed.json
    assert deployed.json["county"] == A and deployed.json["own_files"] == [DMN]
    assert deployed.json["number"] == 2

    # A project between the two thresholds: not 重大 in 大姚, 重大 in 姚安.
    dayao.start("qiye", investment_wan=8000)
    ready, scope = scope_of(dayao)
    assert ready == ["notify_rejection"]
    assert scope["in_scope"] is False and scope["reason"].startswith("投资规模低于1亿元")
    yaoan_after = yaoan.start("qiye_b", investment_wan=8000)
    ready, scope = scope_of(yaoan)
    assert ready == ["review_application"] and scope["in_scope"] is True
    assert deployment_of(app, yaoan_after) == (1, None)
    # Above both thresholds: 重大 in 大姚 too, on 大姚's version.
    dayao_big = dayao.start("qiye", investment_wan=12000)
    assert dayao.ready_ids() == ["review_application"]
    assert deployment_of(app, dayao_big) == (2, A)

    # 姚安's cases and deployments are unchanged; every case keeps the version it started on.
    assert deployment_of(app, yaoan_before) == (1, None)
    assert deployment_of(app, dayao_before) == (1, None)
    with app.app_context():
        assert db.session.execute(select(Deployment.number).where(
            Deployment.county == B)).all() == []
        runs = latest_deployment("concierge_service", county=B)
        assert runs is not None and runs.number == 1
        [event] = db.session.execute(select(AuditEvent).where(
            AuditEvent.type == "deployment_created", AuditEvent.actor == "sheji")).scalars()
        assert event.payload["county"] == A and event.payload["own"] == [DMN]
        assert event.payload["base"] == 1 and DMN in event.payload["files"]
        # The audit's check of stored deployments against their events finds nothing.
        events = list(db.session.execute(select(AuditEvent)).scalars())
        assert deployment_findings(events) == []
        db.session.remove()


def test_the_prefectures_new_version_is_inherited_with_the_countys_own_files_kept(
        app: Flask, api: Api, frozen_clock: FrozenClock) -> None:
    assert deploy(api, "sheji", {DMN: DAYAO_DMN}).status_code == 201
    bpmn = (ROOT / "processes" / "concierge_service.bpmn").read_text(encoding="utf-8")
    renamed = bpmn.replace('name="判定服务范围"', 'name="判定服务范围（州统一）"')
    assert renamed != bpmn
    # The prefecture's designer chooses 全州（市）: a new prefecture version (3), and 大姚's
    # library is composed again on it (4), its own table in place.
    deployed = deploy(api, "zhou_sheji", {"concierge_service.bpmn": renamed}, county="*")
    assert deployed.status_code == 201, deployed.json
    assert deployed.json["county"] is None and deployed.json["number"] == 3
    with app.app_context():
        dayao = latest_deployment("concierge_service", county=A)
        assert dayao is not None and (dayao.number, dayao.county) == (4, A)
        files = {f.name: f for f in dayao.files}
        assert "判定服务范围（州统一）" in files["concierge_service.bpmn"].content
        assert files["concierge_service.bpmn"].inherited
        assert files[DMN].content == DAYAO_DMN and not files[DMN].inherited
        yaoan = latest_deployment("concierge_service", county=B)
        assert yaoan is not None and (yaoan.number, yaoan.county) == (3, None)
        db.session.remove()
    walker = Walker(app, frozen_clock)
    walker.start("qiye", investment_wan=8000)
    assert walker.ready_ids() == ["notify_rejection"]  # 大姚's threshold survived


def test_a_county_designer_deploys_for_their_own_county_only(app: Flask, api: Api) -> None:
    for asked in ("*", B):
        refused = deploy(api, "sheji", {DMN: DAYAO_DMN}, county=asked)
        assert refused.status_code == 403, refused.json
    # A prefecture designer chooses the county.
    for_yaoan = deploy(api, "zhou_sheji", {DMN: DAYAO_DMN}, county=B)
    assert for_yaoan.status_code == 201 and for_yaoan.json["county"] == B
    unknown = deploy(api, "zhou_sheji", {DMN: DAYAO_DMN}, county="nowhere")
    assert unknown.status_code == 422
    # The same override again deploys nothing.
    again = deploy(api, "zhou_sheji", {DMN: DAYAO_DMN}, county=B)
    assert again.json["number"] == for_yaoan.json["number"]


def test_the_designer_lists_show_whose_each_version_is_and_what_each_county_runs(
        app: Flask, api: Api) -> None:
    number = deploy(api, "zhou_sheji", {DMN: DAYAO_DMN}, county=B).json["number"]
    county_designer, prefecture_designer = Web(app), Web(app)
    county_designer.login("sheji")
    prefecture_designer.login("zhou_sheji")
    wide = prefecture_designer.text("/designer/")
    runs = wide.split('id="county-runs"')[1].split("</table>")[0]
    dayao_row, yaoan_row = (next(r for r in runs.split("<tr") if f'data-county="{c}"' in r)
                            for c in (A, B))
    assert "继承全州（市）" in dayao_row and "v1" in dayao_row
    assert "本县覆盖" in yaoan_row and DMN in yaoan_row and f"v{number}" in yaoan_row
    assert f'data-version="{number}" data-county="{B}"' in wide
    assert "全州（市）" in wide.split('id="deploy-county"')[1].split("</select>")[0]

    own = county_designer.text("/designer/")
    assert f'data-version="{number}"' not in own  # 姚安's override is not 大姚's to see
    runs = own.split('id="county-runs"')[1].split("</table>")[0]
    assert f'data-county="{A}"' in runs and f'data-county="{B}"' not in runs
    offered = own.split('id="deploy-county"')[1].split("</select>")[0]
    assert "本县" in offered and 'value="*"' not in offered
    assert county_designer.get(f"/designer/download/{number}/{DMN}").status_code == 404
    assert prefecture_designer.get(f"/designer/download/{number}/{DMN}").status_code == 200
    assert county_designer.get(f"/designer/diff?from=1&to={number}").status_code == 404


def test_a_county_admin_sees_and_edits_only_their_countys_users(app: Flask) -> None:
    with app.app_context():
        ids = dict(db.session.execute(select(User.username, User.id)).all())
        db.session.remove()
    county_admin, prefecture_admin = Web(app), Web(app)
    county_admin.login("b_admin")
    prefecture_admin.login("zhou_admin")
    listed = county_admin.text("/admin/users")
    assert ">b_zhaoshang</a>" in listed and ">zhaoshang</a>" not in listed
    assert ">zhou</a>" not in listed
    assert county_admin.get(f"/admin/users/{ids['zhaoshang']}").status_code == 404
    assert county_admin.get(f"/admin/users/{ids['b_fgj']}").status_code == 200
    form = county_admin.text("/admin/users/new")
    assert "姚安县" in form and "州(市)级：所有县" not in form and "大姚" not in form
    moved = county_admin.post(f"/admin/users/{ids['b_fgj']}", {
        "username": "b_fgj", "display_name": "姚安 b_fgj", "password": "",
        "groups": "dept_fgj", "county": A, "active": "on"},
        token_from=f"/admin/users/{ids['b_fgj']}")
    assert moved.status_code == 422 and "只能选择本县" in moved.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(User, ids["b_fgj"])
        assert row is not None and row.county == B
        db.session.remove()
    everyone = prefecture_admin.text("/admin/users")
    assert all(f">{n}</a>" in everyone for n in ("b_zhaoshang", "zhaoshang", "zhou"))


def test_a_countys_form_override_is_what_its_enterprises_fill_in(
        app: Flask, api: Api, frozen_clock: FrozenClock) -> None:
    form = (ROOT / "forms" / "application.form").read_text(encoding="utf-8")
    relabelled = form.replace('"项目名称"', '"项目名称（姚安县）"', 1)
    assert relabelled != form
    published = api.client.post("/designer/api/forms", json={
        "content": relabelled, "county": B}, headers={
        "Authorization": f"Bearer {api.token('zhou_sheji')}", "X-Guanjia-Designer": "1"})
    assert published.status_code == 201, published.json
    theirs, ours = Web(app), Web(app)
    theirs.login("qiye_b")
    ours.login("qiye")
    assert "项目名称（姚安县）" in theirs.text("/portal/apply")
    page = ours.text("/portal/apply")
    assert "项目名称" in page and "项目名称（姚安县）" not in page
    # 姚安's cases start on its version (the form with it); 大姚's on the prefecture's.
    walker = Walker(app, frozen_clock)
    assert deployment_of(app, walker.start("qiye_b")) == (published_number(app, B), B)
    assert deployment_of(app, walker.start("qiye")) == (1, None)


def published_number(app: Flask, county: str) -> int:
    with app.app_context():
        found = latest_deployment(county=county)
        assert found is not None
        number = found.number
        db.session.remove()
    return number


def test_a_designer_moves_only_their_countys_cases_and_only_to_their_versions(
        app: Flask, api: Api, frozen_clock: FrozenClock) -> None:
    walker = Walker(app, frozen_clock)
    yaoan_case = walker.start("qiye_b", investment_wan=20000)
    dayao_case = walker.start("qiye", investment_wan=20000)
    assert deploy(api, "sheji", {DMN: DAYAO_DMN}).status_code == 201  # 大姚's v2
    with app.app_context():
        sheji = db.session.execute(select(User).where(User.username == "sheji")).scalar_one()
        with pytest.raises(NotFoundError):
            migrate_cases(sheji, [yaoan_case], 2, dry_run=True)
        [own] = migrate_cases(sheji, [dayao_case], 2, dry_run=True)
        assert own.safe, own.blockers
        zhou = db.session.execute(select(User).where(User.username == "zhou_sheji")
                                  ).scalar_one()
        [other] = migrate_cases(zhou, [yaoan_case], 2, dry_run=True)
        assert not other.safe and "dayao" in other.blockers[0]
        db.session.remove()


def test_a_prefecture_version_a_countys_own_files_would_break_is_refused(
        app: Flask, api: Api) -> None:
    assert deploy(api, "sheji", {DMN: DAYAO_DMN}).status_code == 201
    bpmn = (ROOT / "processes" / "concierge_service.bpmn").read_text(encoding="utf-8")
    # The prefecture renames the decision; 大姚's own table still holds the old one.
    renamed_dmn = SHIPPED_DMN.replace('<decision id="service_scope"', '<decision id="scope_v2"')
    renamed_bpmn = bpmn.replace('camunda:decisionRef="service_scope"',
                                'camunda:decisionRef="scope_v2"')
    assert renamed_dmn != SHIPPED_DMN and renamed_bpmn != bpmn
    api.token("zhou_sheji")  # signing in is not what is checked
    before = table_counts(app)
    refused = deploy(api, "zhou_sheji", {DMN: renamed_dmn, "concierge_service.bpmn":
                                         renamed_bpmn}, county="*")
    assert refused.status_code == 422, refused.json
    assert refused.json["county"] == A and "scope_v2" in refused.json["detail"]
    assert table_counts(app) == before


def test_the_api_deploys_for_the_designers_county_and_lists_what_it_runs(
        app: Flask, api: Api) -> None:
    refused = api.post("/deployments", "sheji", json={"files": {DMN: DAYAO_DMN},
                                                      "county": "*"})
    assert refused.status_code == 403
    deployed = api.post("/deployments", "sheji", json={"files": {DMN: DAYAO_DMN}})
    assert deployed.status_code == 201, deployed.json
    assert deployed.json["county"] == A and deployed.json["own_files"] == [DMN]
    assert api.get("/processes", "qiye").json["deployment"]["number"] == deployed.json["number"]
    assert api.get("/processes", "qiye_b").json["deployment"]["number"] == 1
