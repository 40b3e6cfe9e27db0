"""The engine boundary: incremental rows restore to exactly the live workflow, at every step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from server.engine import parser as parser_module
from server.engine.clock import FrozenClock
from server.engine.errors import DiagramError, TaskNotReadyError
from server.engine.parser import parse_files
from server.engine.runtime import Engine
from tests.helpers.engine_rows import RowStore, snapshot

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "processes" / \
    "parallel_items.bpmn"
ANSWERS = {"review": {"approved": True}, "take_sheet": {"receiver": "x"},
           "handle_item": {"outcome": "approved"}, "report_result": {}, "close_case": {},
           "urge_department": {}}


def items(n: int) -> list[dict[str, Any]]:
    return [{"code": f"i{i}", "name": f"事项{i}", "department": "dept_fgj",
             "promised_days": 3} for i in range(n)]


def test_rows_restore_to_the_live_workflow_at_every_step() -> None:
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    engine = Engine()
    runtime, result = engine.start(specs, "parallel_case", {"items": items(3)})
    store = RowStore()
    store.apply(result)
    steps = 0
    while not runtime.workflow.completed:
        restored = engine.restore(specs, "parallel_case", store.envelope,
                                  store.rows.values(), version=steps)
        assert snapshot(engine, restored) == snapshot(engine, runtime)
        ready = [t for t in engine.ready_human_tasks(runtime) if t.element_id in ANSWERS]
        task = ready[0]
        # Alternate: continue on the live workflow, or on the one rebuilt from rows.
        runtime = restored if steps % 2 else runtime
        store.apply(engine.complete(runtime, task.id, ANSWERS[task.element_id]))
        steps += 1
    assert steps == 1 + 3 * 3 + 1
    final = engine.restore(specs, "parallel_case", store.envelope, store.rows.values(), 0)
    assert final.workflow.completed
    assert [r["code"] for r in engine.case_data(runtime)["items"]] == ["i0", "i1", "i2"]


def test_typed_values_and_the_serializer_tag_in_task_data_come_back_from_the_rows() -> None:
    """Decimals, dates and dicts holding the serializer's ``typename`` key, at any depth and
    among plain values, are what they were after a restore; a function left in the data is
    not stored (and does not stop the row from being written)."""
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    engine = Engine()
    given = {
        "fee": Decimal("12.50"), "opened": date(2026, 12, 2),
        "at": datetime(2026, 12, 2, 8, 30, tzinfo=UTC),
        "rows": [{"typename": "x", "amount": Decimal("0.10"), "on": date(2026, 1, 5)},
                 "text", 3, 1.5, None, True],
        "nested": {"deep": {"typename": "UUID", "values": [[Decimal("3")], {"typename": 1}]}},
        "plain": {"name": "项目", "count": 2, "tags": ["a", "b"]},
    }
    runtime, result = engine.start(specs, "parallel_case",
                                   {"items": items(1), **given, "helper": len})
    store = RowStore()
    store.apply(result)
    restored = engine.restore(specs, "parallel_case", store.envelope, store.rows.values(), 0)
    review = engine.ready_human_tasks(restored)[0]
    data = restored.workflow.get_task_from_id(UUID(review.id)).data
    assert {key: data[key] for key in given} == given
    assert str(data["fee"]) == "12.50" and type(data["opened"]) is date
    assert type(data["rows"][0]["on"]) is date and str(data["rows"][0]["amount"]) == "0.10"
    assert "helper" not in data
    # The restored case runs on with them.
    store.apply(engine.complete(restored, review.id, {"approved": True}))
    again = engine.restore(specs, "parallel_case", store.envelope, store.rows.values(), 1)
    assert {key: engine.case_data(again)[key] for key in given} == given


def test_a_case_restored_on_freshly_parsed_specs_finishes_its_multi_instance() -> None:
    engine = Engine()
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    runtime, result = engine.start(specs, "parallel_case", {"items": items(2)})
    store = RowStore()
    store.apply(result)
    review = engine.ready_human_tasks(runtime)[0]
    store.apply(engine.complete(runtime, review.id, {"approved": True}))
    # A new process (restart): nothing cached, specs parsed anew.
    parser_module._PARSED.clear()
    fresh = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    assert fresh is not specs
    runtime = engine.restore(fresh, "parallel_case", store.envelope, store.rows.values(), 1)
    while True:
        ready = [t for t in engine.ready_human_tasks(runtime) if t.element_id in ANSWERS]
        if not ready or ready[0].element_id == "close_case":
            break
        store.apply(engine.complete(runtime, ready[0].id, ANSWERS[ready[0].element_id]))
        runtime = engine.restore(fresh, "parallel_case", store.envelope, store.rows.values(), 2)
    assert [t.element_id for t in engine.ready_human_tasks(runtime)] == ["close_case"]


def test_a_timer_fires_only_when_the_clock_says_so(frozen_clock: FrozenClock) -> None:
    engine = Engine()
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    runtime, _ = engine.start(specs, "parallel_case", {"items": items(1)})
    review = engine.ready_human_tasks(runtime)[0]
    result = engine.complete(runtime, review.id, {"approved": True})
    (timer,) = result.timers
    assert timer.element_id == "sheet_not_taken"
    assert timer.due_at == frozen_clock.now() + timedelta(minutes=30)
    frozen_clock.advance(timedelta(minutes=29))
    assert engine.advance(runtime).human == []
    frozen_clock.advance(timedelta(minutes=2))
    fired = engine.advance(runtime)
    assert [t.element_id for t in fired.human if t.state == "ready"] == ["urge_department"]
    assert fired.timers_gone == [timer.task_id]


def test_unknown_or_finished_task_is_refused() -> None:
    engine = Engine()
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    runtime, _ = engine.start(specs, "parallel_case", {"items": items(1)})
    with pytest.raises(TaskNotReadyError):
        engine.complete(runtime, "not-a-uuid", {})
    review = engine.ready_human_tasks(runtime)[0]
    engine.complete(runtime, review.id, {"approved": True})
    with pytest.raises(TaskNotReadyError):
        engine.complete(runtime, review.id, {"approved": True})


def test_sandbox_refuses_escapes_in_conditions() -> None:
    text = FIXTURE.read_text().replace("approved == True",
                                       "().__class__.__base__.__subclasses__()")
    engine = Engine()
    specs = parse_files({"escape.bpmn": text})
    runtime, _ = engine.start(specs, "parallel_case", {"items": items(1)})
    review = engine.ready_human_tasks(runtime)[0]
    from server.engine.errors import ScriptError
    with pytest.raises(ScriptError):
        engine.complete(runtime, review.id, {"approved": True})


def test_missing_decision_reference_is_reported_not_a_key_error() -> None:
    text = FIXTURE.read_text().replace(
        '<bpmn:userTask id="review"', '<bpmn:businessRuleTask id="scope_check"><bpmn:incoming>'
        'x</bpmn:incoming></bpmn:businessRuleTask><bpmn:userTask id="review"')
    with pytest.raises(DiagramError) as info:
        parse_files({"no_decision.bpmn": text})
    assert "decisionRef" in info.value.message
    assert info.value.element_id == "scope_check"
