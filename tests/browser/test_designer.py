"""Acceptance: a designer edits the real process and decision in the browser and deploys;
new cases follow the new version while a case started before keeps the old one."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import Api
from tests.designer.conftest import ensure_designer

ROOT = Path(__file__).resolve().parents[2]
NEW_NAME = "审核申请（含成熟度评估）"


def application(investment_wan: int) -> dict[str, Any]:
    return {"project_name": f"储能项目{investment_wan}", "enterprise_name": "企业甲",
            "industry": "energy", "project_location": "城关镇工业园",
            "investment_wan": investment_wan, "policy_compliant": True,
            "project_summary": "年产储能电池", "service_mode": "full",
            "item_codes": ["company_registration"], "contact_name": "刘经理",
            "contact_phone": "13800000000", "applicant_declaration": True}


@pytest.fixture
def live(make_app: Any, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    app: Flask = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                          GUANJIA_FORMS_DIR=str(forms))
    ensure_designer(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def start(api: Api, investment_wan: int) -> str:
    response = api.post("/cases", "qiye", json={"process_id": "concierge_service",
                                                "data": application(investment_wan)})
    assert response.status_code == 201, response.json
    case_id: str = response.json["id"]
    return case_id


def open_editor(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=20000)


def test_designer_edits_deploys_and_new_cases_follow(live: tuple[Flask, str], page: Any,
                                                     screenshots_dir: Path) -> None:
    app, base = live
    api = Api(app, app.test_client())
    old_case = start(api, 3000)  # below the 5000 threshold of version 1: not in scope
    page.set_extra_http_headers({"Authorization": f"Bearer {api.token('sheji')}"})

    # The library lists the main process and its decision.
    page.goto(f"{base}/designer/")
    assert page.locator("#processes tr[data-process='concierge_service']").count() == 1
    assert page.locator("#decisions tr[data-decision='service_scope']").count() == 1

    # Rename a task in the modeler; a broken form key is shown on the diagram first.
    open_editor(page, f"{base}/designer/edit/concierge_service.bpmn")
    page.evaluate("""() => {
        const m = window.designer.modeler.modeler;
        const el = m.get('elementRegistry').get('review_application');
        m.get('modeling').updateProperties(el, {'camunda:formKey': 'no_such_form'});
    }""")
    page.click("#validate")
    page.wait_for_selector("#problems li[data-element='review_application']")
    assert page.locator("[data-element-id='review_application'].gj-error").count() >= 1
    page.screenshot(path=str(screenshots_dir / "designer-error.png"))
    page.evaluate(f"""() => {{
        const m = window.designer.modeler.modeler;
        const el = m.get('elementRegistry').get('review_application');
        m.get('modeling').updateProperties(el, {{'camunda:formKey': 'application_review'}});
        m.get('modeling').updateLabel(el, '{NEW_NAME}');
    }}""")
    page.click("#save-draft")
    page.wait_for_selector("#status.ok")
    page.fill("#comment", "审核任务更名")
    page.click("#deploy")
    page.wait_for_selector("#status.ok:has-text('v2')")
    assert page.locator("#problems li").count() == 0

    # Lower the threshold in the decision table by typing into its cells.
    open_editor(page, f"{base}/designer/edit/service_scope.dmn")
    for cell, text in (("rule_investment_below_threshold_investment", "< 2000"),
                       ("rule_in_scope_investment", ">= 2000")):
        target = page.locator(f"[data-element-id='{cell}']")
        target.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(text)
    page.click("#dmn-editor .toolbar strong")  # leave the cell so the edit is committed
    page.fill("#comment", "门槛调整为2000万元")
    page.click("#deploy")
    page.wait_for_selector("#status.ok:has-text('v3')")
    page.screenshot(path=str(screenshots_dir / "designer-dmn.png"))

    # The version list shows what changed.
    page.goto(f"{base}/designer/diff?from=1&to=3")
    assert "review_application" in page.locator("tr[data-container='concierge_service']"
                                                ).inner_text()
    assert "rule_in_scope_investment" in page.locator("tr[data-container='service_scope']"
                                                      ).inner_text()

    new_case = start(api, 3000)
    tasks = {t["case_id"]: (t["element_id"], t["name"]) for t in api.tasks("zhaoshang")}
    assert tasks[new_case] == ("review_application", NEW_NAME)
    assert tasks[old_case][0] == "notify_rejection"
    assert api.get(f"/cases/{old_case}", "zhaoshang").json["status"] == "running"
    with app.app_context():
        from server.extensions import db
        from server.models import Case

        numbers = {c: db.session.get(Case, c).deployment.number for c in (old_case, new_case)}
        db.session.remove()
    assert numbers == {old_case: 1, new_case: 3}
    # The only failed request is the refused validation the test provoked.
    assert [e for e in page.console_errors if "422" not in e] == []
    assert page.external_requests == []
