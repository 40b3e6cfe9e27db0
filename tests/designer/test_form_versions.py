"""Forms are part of a deployment's immutable version, like the diagrams (issue 15).

A running case keeps the form versions it was deployed with; deploying a new form version
changes new cases only; the ``forms/`` folder is only the seed of the first deployment; the
registry answers whole from its first request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import Api
from tests.designer.conftest import Designer

REVIEW_V2 = {"type": "default", "id": "review", "schemaVersion": 16,
             "properties": {"title": "审核（第二版）"},
             "components": [
                 {"type": "checkbox", "key": "approved", "label": "同意受理"},
                 {"type": "textfield", "key": "review_basis", "label": "审核依据",
                  "validate": {"required": True}}]}
ITEMS = [{"code": "fgj_ba", "department": "dept_fgj", "promised_days": 3}]


def start(api: Api) -> str:
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "items": ITEMS}})
    assert response.status_code == 201, response.json
    case_id: str = response.json["id"]
    return case_id


def review_of(api: Api, case_id: str) -> dict[str, Any]:
    found = [t for t in api.tasks("zhaoshang")
             if t["element_id"] == "review" and t["case_id"] == case_id]
    assert len(found) == 1, found
    return found[0]


def deploy_review_v2(designer: Designer) -> None:
    response = designer.call("POST", "/api/forms", "sheji",
                             json={"content": json.dumps(REVIEW_V2, ensure_ascii=False)})
    assert response.status_code in (200, 201), response.json


def test_a_running_case_keeps_its_form_and_a_new_case_gets_the_new_version(
        api: Api, designer: Designer, app: Flask) -> None:
    old_case = start(api)
    deploy_review_v2(designer)
    new_case = start(api)

    old_review, new_review = review_of(api, old_case), review_of(api, new_case)
    old_form = api.get(f"/tasks/{old_review['id']}", "zhaoshang").json["form"]
    new_form = api.get(f"/tasks/{new_review['id']}", "zhaoshang").json["form"]
    assert {f["key"] for f in old_form["fields"]} == {"approved", "review_note"}
    assert {f["key"] for f in new_form["fields"]} == {"approved", "review_basis"}

    # The running case completes with the fields its own version asks for …
    done = api.post(f"/tasks/{old_review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True, "review_note": "符合条件"}})
    assert done.status_code == 200, done.json
    # … while the new case's task refuses them, naming the new required field.
    refused = api.post(f"/tasks/{new_review['id']}/complete", "zhaoshang",
                       json={"data": {"approved": True, "review_note": "符合条件"}})
    assert refused.status_code == 422
    assert "review_basis" in json.dumps(refused.json, ensure_ascii=False)


def test_a_form_version_is_stored_with_its_hash_in_a_new_deployment_and_audited(
        designer: Designer, app: Flask) -> None:
    from server.extensions import db
    from server.models import AuditEvent, Deployment, DeploymentFile

    forms_dir = app.config["GUANJIA"].forms_dir
    on_disk = (forms_dir / "review.form").read_bytes()
    deploy_review_v2(designer)
    with app.app_context():
        numbers = list(db.session.execute(
            select(Deployment.number).order_by(Deployment.number)).scalars())
        assert numbers == [1, 2]
        rows = {d: {f.name: f for f in db.session.execute(
            select(DeploymentFile).join(Deployment).where(Deployment.number == d)).scalars()}
            for d in numbers}
        v1, v2 = rows[1]["review.form"], rows[2]["review.form"]
        assert json.loads(v1.content)["components"][1]["key"] == "review_note"
        assert json.loads(v2.content)["properties"]["title"] == "审核（第二版）"
        assert v2.sha256 == hashlib.sha256(v2.content.encode()).hexdigest()
        # The diagrams and the other forms of the version are carried over unchanged.
        assert rows[2]["parallel_items.bpmn"].sha256 == rows[1]["parallel_items.bpmn"].sha256
        assert rows[2]["close.form"].sha256 == rows[1]["close.form"].sha256
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.type == "deployment_created").order_by(AuditEvent.seq.desc())
            .limit(1)).scalar_one()
        assert event.actor == "sheji" and event.payload["forms"]["review.form"] == v2.sha256
    # Nothing is written into the forms folder any more.
    assert (forms_dir / "review.form").read_bytes() == on_disk


def test_the_forms_folder_is_only_the_seed_of_the_first_deployment(
        api: Api, app: Flask) -> None:
    from server.services.forms import form_registry

    forms_dir = app.config["GUANJIA"].forms_dir
    changed = json.loads((forms_dir / "review.form").read_text(encoding="utf-8"))
    changed["components"].append({"type": "textfield", "key": "sneaked_in", "label": "x"})
    (forms_dir / "review.form").write_text(json.dumps(changed), encoding="utf-8")
    case_id = start(api)
    detail = api.get(f"/tasks/{review_of(api, case_id)['id']}", "zhaoshang").json
    assert "sneaked_in" not in {f["key"] for f in detail["form"]["fields"]}
    with app.app_context():
        assert "sneaked_in" not in {f.key for f in form_registry().get("review").fields}


@pytest.mark.real_commits  # eight threads read the forms, each on its own connection
def test_a_fresh_registry_answers_whole_to_its_first_concurrent_requests(app: Flask) -> None:
    """A fresh worker answered valid completions with "form does not exist" (9 in a run)."""
    from server.services.forms import FormRegistry

    with app.app_context():
        expected = {p.stem for p in app.config["GUANJIA"].forms_dir.glob("*.form")}
    for _ in range(5):
        fresh = FormRegistry(app.config["GUANJIA"].forms_dir)
        barrier = threading.Barrier(8)
        seen: list[set[str]] = []
        errors: list[BaseException] = []

        def ask(registry: FormRegistry = fresh, b: threading.Barrier = barrier,
                seen: list[set[str]] = seen, errors: list[BaseException] = errors) -> None:
            try:
                with app.app_context():
                    b.wait()
                    seen.append(registry.ids())
                    registry.get("review")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert seen == [expected] * 8


def test_a_form_the_library_would_not_deploy_with_is_refused(
        designer: Designer, app: Flask) -> None:
    """Deploying a form is deploying a version: a bad form stores nothing."""
    from tests.conftest import table_counts

    designer.api.token("sheji")
    before = table_counts(app)
    bad = dict(REVIEW_V2, components=[{"type": "textfield", "key": "a"},
                                      {"type": "textfield", "key": "a"}])
    response = designer.call("POST", "/api/forms", "sheji", json={"content": json.dumps(bad)})
    assert response.status_code == 422 and "twice" in response.json["detail"]
    assert table_counts(app) == before
