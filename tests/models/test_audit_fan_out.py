"""The fan-out event's payload: written once for several tasks, read back task by task."""

from __future__ import annotations

from typing import Any

import pytest

from server.models.audit import fan_out_payload, opened_tasks

DUE = "2026-11-30T09:00:00+00:00"


def test_what_the_tasks_share_is_written_once_and_what_differs_per_task() -> None:
    openings: list[tuple[str, dict[str, Any]]] = [
        ("t1", {"candidate_groups": ["dept_fgj"], "due_at": DUE}),
        ("t2", {"candidate_groups": ["dept_zrzy"], "due_at": DUE, "assignee": "zrzy"}),
        ("t3", {"candidate_groups": ["dept_fgj"], "due_at": DUE}),
    ]
    payload = fan_out_payload(openings)
    assert payload == {"task_ids": ["t1", "t2", "t3"], "due_at": DUE, "per_task": {
        "t1": {"candidate_groups": ["dept_fgj"]},
        "t2": {"candidate_groups": ["dept_zrzy"], "assignee": "zrzy"},
        "t3": {"candidate_groups": ["dept_fgj"]}}}
    # Read back exactly, in the order the engine opened them; a task without an assignee
    # has none (absent means none, as in a task_created event).
    assert opened_tasks("tasks_created", None, payload) == openings


def test_identical_tasks_keep_no_per_task_part() -> None:
    openings = [(f"t{k}", {"candidate_groups": ["bureau"]}) for k in range(10)]
    payload = fan_out_payload(openings)
    assert payload == {"task_ids": [f"t{k}" for k in range(10)],
                       "candidate_groups": ["bureau"]}
    assert opened_tasks("tasks_created", None, payload) == openings


def test_a_single_task_event_reads_as_before_and_other_events_open_nothing() -> None:
    assert opened_tasks("task_created", "t1", {"candidate_groups": ["bureau"]}) == [
        ("t1", {"candidate_groups": ["bureau"]})]
    assert opened_tasks("task_created", None, {}) == []
    assert opened_tasks("task_completed", "t1", {"new": {}}) == []


@pytest.mark.parametrize("payload", [None, [], {"task_ids": "t1"}, {"task_ids": ["t1"],
                                                                   "per_task": ["x"]},
                                     {"task_ids": ["t1"], "per_task": {"t1": "x"}}])
def test_a_malformed_fan_out_opens_what_it_can_and_never_raises(payload: Any) -> None:
    found = opened_tasks("tasks_created", None, payload)
    assert found in ([], [("t1", {})])
