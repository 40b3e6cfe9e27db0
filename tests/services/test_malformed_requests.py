"""Malformed requests get a 4xx problem document, never a 500, and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start


def _raw(api: Api, method: str, path: str, user: str | None, body: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers["Authorization"] = f"Bearer {api.token(user)}"
    return api.client.open(f"/api/v1{path}", method=method, headers=headers, data=body)


DEEP = "[" * 2000 + "]" * 2000
DEEP_OBJECT = '{"data": ' + '{"a": ' * 2000 + "1" + "}" * 2000 + "}"


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
@pytest.mark.parametrize(("method", "path", "user"), [
    ("POST", "/auth/token", None), ("POST", "/cases", "qiye"),
    ("POST", "/deployments", "sheji"), ("POST", "/tasks/x/complete", "zhaoshang"),
    ("POST", "/cases/x/terminate", "zhaoshang"), ("POST", "/tasks/x/reassign", "lingdao"),
])
def test_json_nested_2000_deep_is_a_client_error(api: Api, body: str, method: str, path: str,
                                                 user: str | None) -> None:
    if user:
        api.token(user)
    before = table_counts(api.app)
    response = _raw(api, method, path, user, body)
    assert 400 <= response.status_code < 500, response.status_code
    assert response.content_type == "application/problem+json"
    assert table_counts(api.app) == before


@pytest.mark.parametrize("text", ["\\ud800", "a\\u0000b", "\\udfff tail"])
def test_a_lone_surrogate_or_nul_in_a_title_or_user_name_is_a_client_error(
        api: Api, text: str) -> None:
    api.token("qiye")
    before = table_counts(api.app)
    started = _raw(api, "POST", "/cases", "qiye", '{"process_id": "parallel_case", "data": '
                   '{"project_name": "' + text + '", "investment_wan": 1, "items": []}}')
    assert 400 <= started.status_code < 500, started.get_data(as_text=True)[:300]
    token = _raw(api, "POST", "/auth/token", None,
                 '{"username": "' + text + '", "password": "x"}')
    assert 400 <= token.status_code < 500
    assert token.content_type == "application/problem+json"
    assert table_counts(api.app) == before


def test_a_nul_in_the_address_or_a_posted_form_is_a_client_error(api: Api) -> None:
    api.token("zhaoshang")
    before = table_counts(api.app)
    assert api.get("/cases/a%00b", "zhaoshang").status_code == 400
    assert api.get("/tasks", "zhaoshang", query_string={"stage": "a\x00"}).status_code == 400
    assert api.client.post("/login", data={"username": "a\x00b", "password": "x"}
                           ).status_code == 400
    assert table_counts(api.app) == before


@pytest.mark.parametrize("page", ["10000000000000000001", "0", "-5", "x"])
def test_an_absurd_page_number_is_a_client_error(api: Api, page: str) -> None:
    response = api.get("/tasks", "zhaoshang", query_string={"page": page})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"


def test_an_absurd_page_number_on_the_pages_shows_a_page(api: Api) -> None:
    from tests.web.helpers import Web

    web = Web(api.app)
    web.login("shenji")
    for path in ("/tasks", "/cases", "/audit/"):
        response = web.get(path, query_string={"page": "10000000000000000001"})
        assert response.status_code in (200, 403), (path, response.status_code)


@pytest.mark.parametrize("components", [[1, 2, 3], [{"type": "group", "components": [7]}],
                                        [{"type": "group", "components": 5}]])
def test_a_form_whose_components_are_not_objects_is_refused_naming_where(
        api: Api, components: list[Any], make_app: Any, tmp_path: Any) -> None:
    from tests.designer.conftest import Designer, ensure_designer

    ensure_designer(api.app)
    designer = Designer(api)
    api.token("sheji")
    before = table_counts(api.app)
    content = json.dumps({"type": "default", "id": "numbers", "components": components})
    response = designer.call("POST", "/api/forms", "sheji", json={"content": content})
    assert response.status_code == 422, response.json
    assert "components[" in response.json["detail"]
    assert table_counts(api.app) == before


def test_get_processes_is_described_in_the_openapi(api: Api) -> None:
    spec = api.get("/openapi.json", None).json
    assert "get" in spec["paths"]["/processes"]
    shown = api.get("/processes", "zhaoshang")
    assert shown.status_code == 200 and shown.json["deployment"]["number"] >= 1


def test_unfinished_case_still_completes_after_bad_input(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    bad = _raw(api, "POST", f"/tasks/{review['id']}/complete", "zhaoshang",
               '{"data": {"review_note": "\\ud800"}}')
    assert bad.status_code == 422 and "surrogate" in bad.json["detail"]
    good = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}})
    assert good.status_code == 200


def test_a_database_outage_answers_503_with_a_problem_document(tmp_path: Any) -> None:
    from server import create_app
    from tests.conftest import _settings

    # Nothing listens on port 9: every connection attempt fails at once.
    app = create_app(_settings("postgresql+psycopg://postgres@127.0.0.1:9/none",
                               tmp_path / "instance"), TESTING=True)
    client = app.test_client()
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "30"
    token = client.post("/api/v1/auth/token", json={"username": "a", "password": "b"})
    assert token.status_code == 503
    page = client.get("/login", headers={"Accept": "text/html"})
    assert page.status_code in (200, 503)  # the sign-in form itself needs no database


def test_a_fan_out_over_the_county_cap_is_refused_at_start(make_app: Any) -> None:
    from tests.helpers.persistence import items

    app = make_app(GUANJIA_MAX_INSTANCES="5")
    api = Api(app, app.test_client())
    api.token("qiye")
    before = table_counts(app)
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "太多事项", "investment_wan": 1, "items": items(6)}})
    assert response.status_code == 422
    assert "GUANJIA_MAX_INSTANCES" in response.json["errors"]["items"][0]
    assert table_counts(app) == before
    assert start(api, items=items(5))["status"] == "running"


def _nested(depth: int) -> str:
    """A case start whose data holds a value nested ``depth`` lists deep."""
    return ('{"process_id": "parallel_case", "data": {"project_name": "x", "investment_wan": 1,'
            ' "items": [], "deep": ' + "[" * depth + "]" * depth + "}}")


def test_json_just_deeper_than_the_limit_is_refused_for_its_depth(api: Api) -> None:
    """Not only depth bombs: 66 levels (under the parser's own recursion limit) are refused by
    the depth rule, and 60 levels are not (whatever else the request gets wrong)."""
    api.token("qiye")
    before = table_counts(api.app)
    too_deep = _raw(api, "POST", "/cases", "qiye", _nested(64))  # + body and data: 66
    assert too_deep.status_code == 422
    assert "nested deeper than 64 levels" in too_deep.get_data(as_text=True)
    assert table_counts(api.app) == before
    shallow = _raw(api, "POST", "/cases", "qiye", _nested(58))
    assert "nested deeper" not in shallow.get_data(as_text=True), shallow.status_code
