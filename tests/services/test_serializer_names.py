"""Data named like the engine serializer's own tags survives a restart.

SpiffWorkflow's serializer reads any dict with a ``typename`` key as one of its objects; a
form field or script variable of that name once bricked the case after a restart.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import FIXTURES, Api

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="tags" targetNamespace="t">
  <bpmn:process id="tagged" name="标签" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="set_names" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>typename = "BpmnWorkflow"
nested = {"typename": "datetime", "value": "not a date", "spec": 1}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="fill" name="填写" camunda:formKey="tagged_form"
      camunda:candidateGroups="bureau">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="check" name="复核" camunda:formKey="review"
      camunda:candidateGroups="bureau">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="set_names"/>
    <bpmn:sequenceFlow id="f2" sourceRef="set_names" targetRef="fill"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fill" targetRef="check"/>
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FORM = {"type": "default", "id": "tagged_form", "schemaVersion": 16,
        "properties": {"title": "标签"},
        "components": [{"type": "textfield", "key": "typename", "label": "类型名"}]}


def _restarted(make_app: Any, forms: Path) -> Api:
    """A second process on the same database: nothing cached, every case read from rows."""
    app = make_app(deploy=False, GUANJIA_FORMS_DIR=str(forms))
    return Api(app, app.test_client())


def test_a_form_key_and_a_script_variable_named_typename_survive_a_restart(
        make_app: Any, tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(FIXTURES / "forms", forms)
    (forms / "tagged_form.form").write_text(json.dumps(FORM), encoding="utf-8")
    first_app = make_app(GUANJIA_FORMS_DIR=str(forms))
    first = Api(first_app, first_app.test_client())
    deployed = first.post("/deployments", "sheji", json={"files": {"tagged.bpmn": BPMN}})
    assert deployed.status_code == 201, deployed.json
    started = first.post("/cases", "zhaoshang", json={"process_id": "tagged", "data": {}})
    assert started.status_code == 201, started.json
    case_id = started.json["id"]
    fill = [t for t in first.tasks("zhaoshang") if t["element_id"] == "fill"][0]
    done = first.post(f"/tasks/{fill['id']}/complete", "zhaoshang",
                      json={"data": {"typename": "UUID"}})
    assert done.status_code == 200, done.json

    second = _restarted(make_app, forms)
    shown = second.get(f"/cases/{case_id}", "zhaoshang")
    assert shown.status_code == 200, shown.json
    assert shown.json["data"]["typename"] == "UUID"  # the form's value, over the script's
    assert shown.json["data"]["nested"] == {"typename": "datetime", "value": "not a date",
                                            "spec": 1}
    check = [t for t in second.tasks("zhaoshang") if t["element_id"] == "check"][0]
    closed = second.post(f"/tasks/{check['id']}/complete", "zhaoshang",
                         json={"data": {"approved": True}})
    assert closed.status_code == 200, closed.json

    third = _restarted(make_app, forms)
    final = third.get(f"/cases/{case_id}", "zhaoshang").json
    assert final["status"] == "completed"
    assert final["data"]["typename"] == "UUID" and final["data"]["approved"] is True


def test_tagged_data_round_trips_at_any_depth_with_typed_values_inside() -> None:
    from datetime import UTC, date, datetime

    from server.engine.runtime import Engine

    registry = Engine().registry
    value = {"typename": "UUID", "rows": [{"typename": "x", "when": date(2026, 12, 2)}],
             "at": datetime(2026, 12, 2, 8, tzinfo=UTC), "plain": {"a": 1}}
    stored = json.loads(json.dumps(registry.convert(value)))
    assert registry.restore(stored) == value
