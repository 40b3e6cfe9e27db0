"""Bad input gets a clear error and changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  id="d">&x;</bpmn:definitions>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  id="d">&lol3;</bpmn:definitions>"""
MALFORMED = (b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>"
             b"<bpmn:process")
MISSING_FORM = b"""<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ghost_task" camunda:formKey="no_such_form">
      <bpmn:incoming>f</bpmn:incoming></bpmn:userTask>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="ghost_task"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize(("content", "expected"), [
    (XXE, "DTD"), (LAUGHS, "DTD"), (MALFORMED, "malformed XML"),
    (MISSING_FORM, "no_such_form"),
])
def test_unsafe_or_broken_diagrams_are_refused_and_nothing_is_stored(
        api: Api, content: bytes, expected: str) -> None:
    api.token("sheji")
    before = table_counts(api.app)
    response = api.post("/deployments", "sheji",
                        json={"files": {"bad.bpmn": content.decode()}})
    assert response.status_code == 422
    assert expected in response.json["detail"]
    assert response.json["file"] == "bad.bpmn" or response.json.get("element_id")
    assert table_counts(api.app) == before


def test_missing_form_names_the_element(api: Api) -> None:
    response = api.post("/deployments", "sheji",
                        json={"files": {"p.bpmn": MISSING_FORM.decode()}})
    assert response.json["element_id"] == "ghost_task"


def test_only_designers_deploy(api: Api) -> None:
    api.token("fgj")
    before = table_counts(api.app)
    response = api.post("/deployments", "fgj", json={"files": {"p.bpmn": "<x/>"}})
    assert response.status_code == 403
    assert table_counts(api.app) == before


def test_unknown_task_is_404_and_changes_nothing(api: Api) -> None:
    start(api)
    api.token("zhaoshang")
    before = table_counts(api.app)
    response = api.post("/tasks/00000000-0000-0000-0000-000000000000/complete", "zhaoshang",
                        json={"data": {"approved": True}})
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert table_counts(api.app) == before


def test_wrong_fields_are_named_and_change_nothing(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    before = table_counts(api.app)
    response = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                        json={"data": {"approved": "perhaps", "salary": 1}})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"approved", "salary"}
    assert table_counts(api.app) == before


def test_missing_required_field_is_named(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    sheet = only_task(api, "fgj", "take_sheet")
    before = table_counts(api.app)
    response = api.post(f"/tasks/{sheet['id']}/complete", "fgj", json={"data": {}})
    assert response.status_code == 422
    assert "receiver" in response.json["errors"]
    assert table_counts(api.app) == before


def test_a_task_that_is_not_yours_is_403_and_changes_nothing(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    sheet = only_task(api, "fgj", "take_sheet")
    api.token("zrzy")
    before = table_counts(api.app)
    response = api.post(f"/tasks/{sheet['id']}/complete", "zrzy",
                        json={"data": {"receiver": "冒名"}})
    assert response.status_code == 403
    assert api.get(f"/tasks/{sheet['id']}", "zrzy").status_code == 403
    assert table_counts(api.app) == before


def test_completing_twice_is_a_conflict(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    first = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                     json={"data": {"approved": True}})
    assert first.status_code == 200
    before = table_counts(api.app)
    again = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                     json={"data": {"approved": False}})
    assert again.status_code == 409
    assert table_counts(api.app) == before


def test_claimed_task_belongs_to_the_claimant(api: Api) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    assert api.post(f"/tasks/{review['id']}/claim", "zhaoshang").status_code == 200
    assert api.tasks("zhaoshang", scope="mine")[0]["id"] == review["id"]
    assert api.tasks("zhaoshang", scope="groups") == []


def test_an_enterprise_cannot_open_another_enterprises_case(api: Api) -> None:
    case = start(api, user="qiye")
    assert api.get(f"/cases/{case['id']}", "qiye").status_code == 200
    assert api.get(f"/cases/{case['id']}", "qiye_b").status_code == 403


def test_malformed_request_bodies_are_422(api: Api) -> None:
    response = api.post("/cases", "qiye", data="not json", content_type="application/json")
    assert response.status_code == 422
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case"})
    assert response.status_code == 422 and "data" in response.json["errors"]
