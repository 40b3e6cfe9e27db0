"""Issue 15: a multi-instance call activity's instances do not each store the whole case.

Each instance used to hold a copy of the case data, the whole ``items`` list included, so a
case over n items stored n copies of n items. The instances now keep only their own
variables (``item``, ``item_result``) and read the rest from their parent; what scripts,
people and the case's data see must stay exactly as before, for new and for stored cases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.engine import runtime as runtime_module
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


def _start_and_review(engine: Engine, n: int) -> tuple[Any, RowStore, int]:
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    runtime, result = engine.start(specs, "parallel_case", {"items": items(n)})
    store = RowStore()
    store.apply(result)
    review = engine.ready_human_tasks(runtime)[0]
    step = engine.complete(runtime, review.id, {"approved": True})
    store.apply(step)
    return runtime, store, sum(len(body) for _, _, body in step.upserts)


def test_instances_store_their_item_not_the_whole_list() -> None:
    engine = Engine()
    runtime, store, _ = _start_and_review(engine, 5)
    instances = [json.loads(body) for _, _, body in store.rows.values()
                 if '"task_spec":"handle_items [child]"' in body]
    assert len(instances) == 5
    for body in instances:
        assert "items" not in body["data"]
        assert body["data"]["item"]["code"].startswith("i")
    # The activity itself still holds the list, and the case's data is whole.
    assert [r["code"] for r in engine.case_data(runtime)["items"]] == \
        ["i0", "i1", "i2", "i3", "i4"]


def test_the_fan_out_step_grows_with_the_items_not_their_square() -> None:
    _, _, small = _start_and_review(Engine(), 40)
    _, _, large = _start_and_review(Engine(), 120)
    # Linear would be 3x; every instance copying the list made it about 9x.
    assert large < 4 * small, (small, large)


def _run(engine: Engine, *, share_from: int | None) -> list[Any]:
    """Work a 3-item case to its end, restoring from rows at every step; the instances share
    their parent's data only from step ``share_from`` on (``None``: never, as before)."""
    original = runtime_module._share_with_parent
    seen: list[Any] = []
    try:
        runtime_module._share_with_parent = lambda task: None  # type: ignore[assignment]
        specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
        runtime, result = engine.start(specs, "parallel_case", {"items": items(3)})
        store = RowStore()
        store.apply(result)
        steps = 0
        while not runtime.workflow.completed:
            if share_from is not None and steps >= share_from:
                runtime_module._share_with_parent = original  # type: ignore[assignment]
            runtime = engine.restore(specs, "parallel_case", store.envelope,
                                     store.rows.values(), version=steps)
            view = snapshot(engine, runtime)
            # Task ids are new in every run: compare what they are, not which uuid they got.
            ready = sorted(entry[1:] for entry in view["ready"])
            seen.append((ready, sorted(t[:2] for t in view["tasks"].values()), view["data"],
                         repr(sorted(engine.scope_data(runtime).items()))))
            open_ = sorted((t for t in engine.ready_human_tasks(runtime)
                            if t.element_id in ANSWERS),
                           key=lambda t: (t.element_id, repr(sorted(t.data.items()))))
            store.apply(engine.complete(runtime, open_[0].id, ANSWERS[open_[0].element_id]))
            steps += 1
        seen.append(repr(sorted(engine.case_data(runtime).items())))
    finally:
        runtime_module._share_with_parent = original  # type: ignore[assignment]
    return seen


@pytest.mark.parametrize("share_from", [0, 2])
def test_what_the_case_shows_is_unchanged_for_new_and_stored_cases(share_from: int) -> None:
    """Step by step, the same people's tasks with the same data, the same case data and
    scope data; ``share_from=2`` is a case stored before the change and continued after."""
    engine = Engine()
    before = _run(engine, share_from=None)
    after = _run(engine, share_from=share_from)
    assert len(after) == len(before) == 1 + 1 + 3 * 3 + 1
    # Mid-run, where the last step was inside an instance, the case data has the whole list.
    assert any("'items'" in step[2] and "'item'" in step[2] for step in after[:-1])
    assert after == before
