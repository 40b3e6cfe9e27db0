"""A diagram exactly as Camunda Modeler 5 (Camunda 7 platform) writes it deploys and runs."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import Api
from tests.designer.conftest import DESIGNER_FIXTURES, Designer
from tests.helpers.api_cases import only_task


def upload(designer: Designer) -> dict[str, object]:
    import io

    files = [(io.BytesIO((DESIGNER_FIXTURES / name).read_bytes()), name)
             for name in ("modeler5_intake.bpmn", "intake_route.dmn")]
    response = designer.call("POST", "/api/upload", "sheji",
                             data={"files": files, "comment": "from Camunda Modeler"},
                             content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    body: dict[str, object] = response.json
    return body


def test_a_camunda_modeler_5_diagram_deploys_and_runs(
        api: Api, designer: Designer, app: Flask, frozen_clock: FrozenClock) -> None:
    deployed = upload(designer)
    assert "quick_intake" in deployed["processes"]  # type: ignore[operator]

    started = api.post("/cases", "qiye", json={"process_id": "quick_intake", "data": {
        "project_name": "光伏组件项目", "investment_wan": 150000}})
    assert started.status_code == 201, started.json
    # The decision sent the large project down the fast lane, to the bureau.
    review = only_task(api, "zhaoshang", "Activity_1fastrv")
    assert review["name"] == "快速审核" and review["due_at"] is not None

    # The non-interrupting timer boundary event reminds the steward after two hours.
    frozen_clock.advance(timedelta(hours=2, minutes=1))
    from server.services.timers import fire_case_timers

    with app.app_context():
        fired = fire_case_timers(str(started.json["id"]))
    assert [t.element_id for t in fired] == ["Event_0remind1"]
    assert only_task(api, "guanjia", "Activity_1urge01")["name"] == "提醒审核"

    assert api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}}).status_code == 200
    close = only_task(api, "zhuanchuang", "Activity_0close1")
    assert api.post(f"/tasks/{close['id']}/complete", "zhuanchuang",
                    json={"data": {"closing_note": "完成"}}).status_code == 200
    urge = only_task(api, "guanjia", "Activity_1urge01")
    assert api.post(f"/tasks/{urge['id']}/complete", "guanjia",
                    json={"data": {}}).status_code == 200
    shown = api.get(f"/cases/{started.json['id']}", "zhaoshang").json
    assert shown["status"] == "completed"


def test_a_small_project_takes_the_normal_lane(api: Api, designer: Designer) -> None:
    upload(designer)
    started = api.post("/cases", "qiye", json={"process_id": "quick_intake", "data": {
        "project_name": "小项目", "investment_wan": 800}})
    assert started.status_code == 201, started.json
    assert only_task(api, "juzhang", "Activity_0normrv")["name"] == "常规审核"
