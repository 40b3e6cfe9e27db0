"""A step that does not settle is stopped by name and becomes an incident, never a silent stop.

No diagram found so far needs more than one refresh-and-run pass on SpiffWorkflow 3.2 (its
``do_engine_steps`` already loops and ends with a timer refresh), so these tests lower the
engine's pass allowance instead of drawing a diagram that spins: what matters is what the
engine and the services do once the allowance is used up (docs/engine.md, "A step that does
not settle").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.engine.errors import ScriptLimitError, StepNotSettledError
from server.engine.parser import parse_files
from server.engine.runtime import SETTLE_PASSES, Engine
from tests.conftest import Api

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "processes" / \
    "parallel_items.bpmn"
ITEMS = [{"code": "i0", "name": "事项", "department": "dept_fgj", "promised_days": 3}]


def test_an_engine_out_of_passes_raises_a_named_error_and_is_a_script_limit() -> None:
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    engine = Engine()
    assert engine.settle_passes == SETTLE_PASSES == 20
    runtime, _ = engine.start(specs, "parallel_case", {"items": ITEMS})
    [review] = engine.ready_human_tasks(runtime)
    engine.settle_passes = 0
    with pytest.raises(StepNotSettledError) as info:
        engine.complete(runtime, review.id, {"approved": True})
    assert "did not settle after 0 passes" in str(info.value)
    # A script-limit error: the services open an incident and the workers do not retry it.
    assert isinstance(info.value, ScriptLimitError)
    engine.settle_passes = SETTLE_PASSES
    result = engine.advance(runtime)  # the same engine with passes left goes on normally
    assert not result.completed


def _only_task(api: Api, user: str, element_id: str) -> dict[str, Any]:
    tasks = [t for t in api.tasks(user) if t["element_id"] == element_id]
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_a_completion_that_does_not_settle_is_refused_and_opens_an_incident(api: Api) -> None:
    started = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "items": ITEMS}})
    assert started.status_code == 201, started.json
    case_id = started.json["id"]
    review = _only_task(api, "zhaoshang", "review")
    engine = api.app.extensions["guanjia.store"].engine
    engine.settle_passes = 0
    try:
        response = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                            json={"data": {"approved": True}})
    finally:
        engine.settle_passes = SETTLE_PASSES
    assert response.status_code == 422, response.json
    assert "did not settle" in response.json["detail"]
    # Nothing moved: the review still waits for the same person, and the case has an incident.
    assert _only_task(api, "zhaoshang", "review")["id"] == review["id"]
    with api.app.app_context():
        from server.services.incidents import list_incidents

        [incident] = list_incidents(case_id)
        assert "did not settle" in incident.error
    # Once the cause is gone the same completion goes through.
    done = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}})
    assert done.status_code == 200, done.json
