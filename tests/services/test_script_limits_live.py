"""A looping script stops at its budget, becomes an incident, and holds nobody else up."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Api, table_counts
from tests.helpers.api_cases import only_task, start

LOOPING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="loop" targetNamespace="t">
  <bpmn:process id="looping" name="死循环" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="go" name="开始" camunda:candidateGroups="window">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="spin" name="计算" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="after" camunda:candidateGroups="window">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="go"/>
    <bpmn:sequenceFlow id="f2" sourceRef="go" targetRef="spin"/>
    <bpmn:sequenceFlow id="f3" sourceRef="spin" targetRef="after"/>
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _looping_case(api: Api, script: str) -> tuple[str, dict[str, Any]]:
    deployed = api.post("/deployments", "sheji",
                        json={"files": {"looping.bpmn": LOOPING.replace("SCRIPT", script)}})
    assert deployed.status_code == 201, deployed.json
    started = api.post("/cases", "zhuanchuang", json={"process_id": "looping", "data": {}})
    assert started.status_code == 201, started.json
    return started.json["id"], only_task(api, "zhuanchuang", "go")


@pytest.mark.real_commits  # a spinning step in a thread while others sign in and complete
def test_a_looping_script_holds_up_neither_sign_in_nor_another_completion(
        make_app: Any) -> None:
    # A budget longer than the other user may wait: they must not wait for the loop at all.
    app = make_app(GUANJIA_SCRIPT_SECONDS="3")
    api = Api(app, app.test_client())
    start(api)  # a case of the fixture process: the other user's review waits in it
    review = only_task(api, "zhaoshang", "review")
    api._tokens.pop("zhaoshang")  # the other user signs in again during the loop
    case_id, go = _looping_case(api, "n = 0\nwhile True:\n    n += 1")
    before = table_counts(app)

    looping: dict[str, Any] = {}

    def complete_the_looping_task() -> None:
        client = app.test_client()
        began = time.monotonic()
        response = client.post(f"/api/v1/tasks/{go['id']}/complete", json={"data": {}},
                               headers={"Authorization": f"Bearer {api.token('zhuanchuang')}"})
        looping.update(status=response.status_code, body=response.json,
                       seconds=time.monotonic() - began)

    spinner = threading.Thread(target=complete_the_looping_task)
    spinner.start()
    time.sleep(0.2)  # the script is spinning now
    other = app.test_client()
    began = time.monotonic()
    signed_in = other.post("/api/v1/auth/token",
                           json={"username": "zhaoshang", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.json
    done = other.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"approved": True}},
                      headers={"Authorization": f"Bearer {signed_in.json['token']}"})
    other_seconds = time.monotonic() - began
    spinner.join(timeout=30)

    assert done.status_code == 200, done.json
    assert other_seconds < 2.0, other_seconds
    assert looping["status"] == 422, looping
    assert 3.0 <= looping["seconds"] < 5.0, looping
    assert "budget" in looping["body"]["detail"]
    # The looping case did not move; its failure is an incident on the case naming the task.
    with app.app_context():
        from server.services.incidents import list_incidents

        incidents = list_incidents(case_id)
        assert len(incidents) == 1 and "spin" in incidents[0].error
        assert "3 s budget" in incidents[0].error
        from server.extensions import db

        version = db.session.execute(sa.text("SELECT state_version FROM cases WHERE id = :c"),
                                     {"c": case_id}).scalar()
        db.session.remove()
    assert (case_id, version) in before["versions"]
    assert only_task(api, "zhuanchuang", "go")["id"] == go["id"]


def test_a_script_building_a_2_gb_string_is_refused(api: Api) -> None:
    case_id, go = _looping_case(api, 'big = "x" * (2 * 1024 ** 3)')
    response = api.post(f"/tasks/{go['id']}/complete", "zhuanchuang", json={"data": {}})
    assert response.status_code == 422
    assert "32 MB" in response.json["detail"]
    with api.app.app_context():
        from server.services.incidents import list_incidents

        assert "spin" in list_incidents(case_id)[0].error


@pytest.mark.real_commits  # two completions in two threads, each on its own connection
def test_two_people_on_one_looping_case_wait_for_each_other_not_for_the_database(
        make_app: Any) -> None:
    app = make_app(GUANJIA_SCRIPT_SECONDS="1")
    api = Api(app, app.test_client())
    case_id, go = _looping_case(api, "while True:\n    pass")
    token = api.token("zhuanchuang")
    results: list[tuple[int, float]] = []

    def complete() -> None:
        began = time.monotonic()
        response = app.test_client().post(f"/api/v1/tasks/{go['id']}/complete",
                                          json={"data": {}},
                                          headers={"Authorization": f"Bearer {token}"})
        results.append((response.status_code, time.monotonic() - began))

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # One after the other, each stopped at its budget: never the database's 30 s lock wait.
    assert sorted(status for status, _ in results) == [422, 422]
    assert max(seconds for _, seconds in results) < 6.0, results
