"""The basic loop through the JSON API: start, list, open, complete, show with history."""

from __future__ import annotations

from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start


def test_a_case_runs_through_the_api_and_keeps_its_history(api: Api) -> None:
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    assert review["case_id"] == case["id"] and review["due_at"] is not None

    detail = api.get(f"/tasks/{review['id']}", "zhaoshang").json
    assert detail["form"]["id"] == "review"
    assert {f["key"] for f in detail["form"]["fields"]} == {"approved", "review_note"}

    done = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True, "review_note": "符合条件"}})
    assert done.status_code == 200, done.json
    assert done.json["state"] == "ready" or done.json["completed_by"] == "zhaoshang"

    # Each department sees only its own task sheet.
    assert [t["element_id"] for t in api.tasks("fgj")] == ["take_sheet"]
    assert [t["element_id"] for t in api.tasks("zrzy")] == ["take_sheet"]

    shown = api.get(f"/cases/{case['id']}", "zhaoshang").json
    types = [e["type"] for e in shown["history"]]
    assert types[0] == "case_started"
    completed = [e for e in shown["history"] if e["type"] == "task_completed"]
    assert completed[0]["actor"] == "zhaoshang"
    assert completed[0]["payload"]["new"] == {"approved": True, "review_note": "符合条件"}
    assert completed[0]["payload"]["old"] == {"approved": None, "review_note": None}
    assert [e["case_seq"] for e in shown["history"]] == list(range(1, len(types) + 1))
    assert shown["data"]["approved"] is True


def test_whole_case_reaches_its_end(api: Api) -> None:
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    for user in ("fgj", "zrzy"):
        for element, data in (("take_sheet", {"receiver": user}),
                              ("handle_item", {"outcome": "approved"}),
                              ("report_result", {})):
            task = only_task(api, user, element)
            response = api.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
            assert response.status_code == 200, response.json
    close = only_task(api, "zhuanchuang", "close_case")
    assert api.post(f"/tasks/{close['id']}/complete", "zhuanchuang",
                    json={"data": {"closing_note": "办结"}}).status_code == 200
    shown = api.get(f"/cases/{case['id']}", "zhaoshang").json
    assert shown["status"] == "completed"
    assert sorted(r["code"] for r in shown["data"]["items"]) == ["land_planning",
                                                                 "project_filing"]


def test_openapi_description_is_published(api: Api) -> None:
    spec = api.get("/openapi.json", None).json
    assert spec["openapi"].startswith("3.")
    assert "/tasks/{task_id}/complete" in spec["paths"]
    assert "CaseDetailResponse" in spec["components"]["schemas"]


def test_calls_without_a_valid_token_are_refused(api: Api) -> None:
    assert api.get("/tasks", None).status_code == 401
    response = api.get("/tasks", None, headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


def test_counts_helper_sees_a_change(api: Api) -> None:
    before = table_counts(api.app)
    start(api)
    assert table_counts(api.app) != before
