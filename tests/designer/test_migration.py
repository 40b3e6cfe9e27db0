"""Moving running cases to a newer version: safe moves complete, unsafe ones say why."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.conftest import Api, table_counts
from tests.designer.conftest import MAIN_BPMN, Designer
from tests.helpers.api_cases import only_task, start

NAME = "parallel_items.bpmn"


def approve_review(api: Api) -> None:
    review = only_task(api, "zhaoshang", "review")
    done = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}})
    assert done.status_code == 200, done.json


def deploy(designer: Designer, bpmn: str) -> int:
    response = designer.deploy("sheji", {NAME: bpmn}, comment="v2")
    assert response.status_code == 201, response.json
    number: int = response.json["number"]
    return number


def migrate(designer: Designer, case_id: str, to: int, *, dry_run: bool = False,
            user: str = "sheji") -> Any:
    return designer.call("POST", "/api/migrate", user,
                         json={"cases": [case_id], "to": to, "dry_run": dry_run})


def finish(api: Api) -> None:
    for user in ("fgj", "zrzy"):
        for element, data in (("take_sheet", {"receiver": user}),
                              ("handle_item", {"outcome": "approved"}),
                              ("report_result", {})):
            task = only_task(api, user, element)
            response = api.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
            assert response.status_code == 200, response.json


def test_a_safe_migration_moves_a_case_midway_and_it_completes(
        api: Api, designer: Designer, app: Flask) -> None:
    case = start(api)
    approve_review(api)  # now at the departments' task sheets, inside the call activity
    v2 = deploy(designer, MAIN_BPMN.replace('name="办结"', 'name="办结归档"'))

    dry = migrate(designer, case["id"], v2, dry_run=True)
    assert dry.status_code == 200, dry.json
    assert dry.json["cases"][0]["safe"] and not dry.json["cases"][0]["moved"]

    moved = migrate(designer, case["id"], v2)
    assert moved.json["cases"][0]["moved"], moved.json
    finish(api)
    # The closing task comes from the new version: it carries the new name.
    close = only_task(api, "zhuanchuang", "close_case")
    assert close["name"] == "办结归档"
    assert api.post(f"/tasks/{close['id']}/complete", "zhuanchuang",
                    json={"data": {"closing_note": "办结"}}).status_code == 200
    shown = api.get(f"/cases/{case['id']}", "zhaoshang").json
    assert shown["status"] == "completed"
    migrated = [e for e in shown["history"] if e["type"] == "case_migrated"]
    assert len(migrated) == 1 and migrated[0]["actor"] == "sheji"
    assert migrated[0]["payload"]["from_deployment"] == 1
    assert migrated[0]["payload"]["to_deployment"] == v2
    assert "review" in migrated[0]["payload"]["elements"]


def test_an_unsafe_migration_is_refused_with_the_reason(
        api: Api, designer: Designer, app: Flask) -> None:
    case = start(api)
    approve_review(api)
    v2 = deploy(designer, MAIN_BPMN.replace('name="领取任务单"', 'name="领取任务"'))
    designer.api.token("sheji")
    before = table_counts(app)
    refused = migrate(designer, case["id"], v2)
    assert refused.status_code == 200
    outcome = refused.json["cases"][0]
    assert not outcome["moved"] and not outcome["safe"]
    assert any("take_sheet" in b and "changed" in b for b in outcome["blockers"]), outcome
    assert table_counts(app) == before
    # The case carries on, on its own version.
    take = only_task(api, "fgj", "take_sheet")
    assert take["name"] == "领取任务单"


def test_a_removed_completed_element_blocks_the_move(
        api: Api, designer: Designer, app: Flask) -> None:
    case = start(api)
    approve_review(api)
    v2 = deploy(designer, MAIN_BPMN.replace(
        '<bpmn:userTask id="review" name="审核"', '<bpmn:userTask id="first_review" name="审核"'
    ).replace('targetRef="review"', 'targetRef="first_review"').replace(
        'sourceRef="review"', 'sourceRef="first_review"'))
    outcome = migrate(designer, case["id"], v2, dry_run=True).json["cases"][0]
    assert any("'review'" in b and "removed" in b for b in outcome["blockers"]), outcome


def test_a_dry_run_changes_nothing(api: Api, designer: Designer, app: Flask) -> None:
    case = start(api)
    v2 = deploy(designer, MAIN_BPMN.replace('name="办结"', 'name="办结归档"'))
    designer.api.token("sheji")
    before = table_counts(app)
    dry = migrate(designer, case["id"], v2, dry_run=True)
    assert dry.json["cases"][0]["safe"] and not dry.json["cases"][0]["moved"]
    assert table_counts(app) == before


def test_only_designers_migrate(api: Api, designer: Designer, app: Flask) -> None:
    case = start(api)
    v2 = deploy(designer, MAIN_BPMN.replace('name="办结"', 'name="办结归档"'))
    designer.api.token("zhaoshang")
    before = table_counts(app)
    assert migrate(designer, case["id"], v2, user="zhaoshang").status_code == 403
    assert table_counts(app) == before


def test_new_cases_start_on_the_newest_and_old_ones_stay(
        api: Api, designer: Designer, app: Flask) -> None:
    old = start(api)
    deploy(designer, MAIN_BPMN.replace('name="审核"', 'name="初审"'))
    new = start(api)
    names = {t["case_id"]: t["name"] for t in api.tasks("zhaoshang")}
    assert names == {old["id"]: "审核", new["id"]: "初审"}


def test_the_diff_names_changed_added_and_removed_elements(
        designer: Designer, app: Flask) -> None:
    v2 = deploy(designer, MAIN_BPMN.replace('name="办结"', 'name="办结归档"').replace(
        '<bpmn:endEvent id="urged">', '<bpmn:endEvent id="urge_done">').replace(
        'targetRef="urged"', 'targetRef="urge_done"'))
    changes = designer.call("GET", f"/api/diff?from=1&to={v2}", "sheji").json["changes"]
    assert changes["parallel_case"]["changed"] == ["close_case"]
    assert changes["item_work"] == {"kind": "process", "added": ["urge_done"],
                                    "removed": ["urged"], "changed": ["g_urge_end"]}
