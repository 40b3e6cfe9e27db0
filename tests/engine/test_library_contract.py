"""Contracts with SpiffWorkflow: what ``server/engine/library.py`` relies on, checked one by one.

Each test names the docs/engine.md section of the function it guards. When a library upgrade
fails one of these, read that section before touching anything else: the rest of the engine
assumes the behaviour described there.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.camunda.parser.task_spec import CallActivityParser
from SpiffWorkflow.task import Task, TaskState

from server.engine import library
from server.engine.library import TaskChanges
from server.engine.parser import parse_files
from server.engine.runtime import Engine
from server.engine.scripting import make_script_engine

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "processes" / \
    "parallel_items.bpmn"
ITEM = {"code": "i0", "name": "事项", "department": "dept_fgj", "promised_days": 3}


def _workflow(items: int = 1) -> BpmnWorkflow:
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    return BpmnWorkflow(specs.specs["parallel_case"], specs.subprocess_specs["parallel_case"],
                        script_engine=make_script_engine())


def test_the_installed_library_is_the_version_the_fence_was_checked_against() -> None:
    # A new version may well pass every contract below; this one makes the upgrade a decision.
    assert version("SpiffWorkflow") == library.TESTED_VERSION


# ---- §1 change hooks -------------------------------------------------------------------------

def test_the_hooked_methods_are_where_the_hooks_expect_them() -> None:
    # The library's own source, not our wrapped class: these lines are what the hooks and
    # the change detection rest on.
    from SpiffWorkflow import task as task_module
    from SpiffWorkflow import workflow as workflow_module

    task_source = inspect.getsource(task_module)
    assert "def _set_state(self, value: int) -> None:" in task_source
    assert "if value != self.state:" in task_source
    assert "self.last_state_change = time.time()" in task_source
    assert "self._state = state" in task_source  # __init__ sets the state without _set_state
    assert "workflow.tasks[self.id] = self" in task_source  # a new task registers itself
    workflow_source = inspect.getsource(workflow_module)
    assert "def _remove_task(self, task_id: UUID) -> None:" in workflow_source
    assert "self.tasks.pop(task_id)" in workflow_source
    library.install_change_hooks()
    library.install_change_hooks()  # idempotent: wrapped once
    assert Task._guanjia_hooked is True  # type: ignore[attr-defined]


def test_hooks_see_every_task_created_moved_and_removed_in_a_step() -> None:
    workflow = _workflow()
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update({"items": [ITEM]})
    changes = TaskChanges()
    with library.recording_changes(changes):
        workflow.do_engine_steps()
    [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert review in changes.touched  # it moved to READY inside the step
    before = {id(t) for t in changes.touched}

    changes = TaskChanges()
    with library.recording_changes(changes):
        review.data["approved"] = False  # rejected: the item branch is dropped
        review.run()
        workflow.do_engine_steps()
    assert review in changes.touched
    assert changes.removed, "a dropped branch must be reported as removed"
    for wf, task_id, task in changes.removed:
        assert isinstance(task_id, UUID) and wf is workflow
        assert task is None or task.id == task_id
    # Created tasks are reported once created (Task.__init__ runs inside the step).
    assert any(id(t) not in before for t in changes.touched)


def test_hooks_record_nothing_outside_a_step() -> None:
    library.install_change_hooks()
    assert library.current_changes() is None
    _workflow().do_engine_steps()  # must not fail nor record anywhere
    assert library.current_changes() is None


def test_last_state_change_moves_exactly_when_the_state_does() -> None:
    workflow = _workflow()
    workflow.do_engine_steps()
    [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
    stamp = review.last_state_change
    review._set_state(TaskState.READY)  # same state: no move
    assert review.last_state_change == stamp


# ---- §2 links ---------------------------------------------------------------------------------

def test_parent_and_child_ids_are_the_stored_uuids() -> None:
    workflow = _workflow()
    workflow.do_engine_steps()
    [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert library.parent_id(review) == review.parent.id
    assert library.child_ids(review) == [c.id for c in review.children]
    assert "self._parent = parent.id" in inspect.getsource(Task)
    assert "self._children = [child.id for child in tasks]" in inspect.getsource(Task)
    assert library.parent_id(workflow.task_tree) is None
    assert all(isinstance(i, UUID) for i in library.child_ids(workflow.task_tree))


# ---- §3 internal data ------------------------------------------------------------------------

def _waiting_timer() -> Task:
    workflow = _workflow()
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update({"items": [ITEM]})
    workflow.do_engine_steps()
    [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
    review.data["approved"] = True
    review.run()
    workflow.do_engine_steps()
    [timer] = [t for t in workflow.get_tasks(state=TaskState.WAITING)
               if isinstance(getattr(t.task_spec, "event_definition", None),
                             TimerEventDefinition)]
    return timer


def test_a_waiting_timer_keeps_its_instant_in_internal_data() -> None:
    timer = _waiting_timer()
    value = library.internal_value(timer, "event_value")
    assert isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    library.set_internal_values(timer, event_value="2030-01-01T00:00:00+00:00")
    assert library.internal_value(timer, "event_value") == "2030-01-01T00:00:00+00:00"
    assert library.internal_value(timer, "no such key", "fallback") == "fallback"


# ---- §4 rebuilding from pieces ---------------------------------------------------------------

def test_the_workflow_converter_is_reachable_and_rebuilds_a_workflow() -> None:
    engine = Engine()
    converter = library.workflow_converter(engine.registry)
    for method in ("mapping_from_dict", "set_default_attributes", "subprocesses_from_dict"):
        assert callable(getattr(converter, method)), method
    assert not library.encoding_for_json(engine.registry)

    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    runtime, _ = engine.start(specs, "parallel_case", {"items": [ITEM]})
    whole = engine.full_state(runtime)
    empty = BpmnWorkflow(specs.specs["parallel_case"], specs.subprocess_specs["parallel_case"],
                         script_engine=make_script_engine(), deserializing=True)
    envelope = {k: whole[k] for k in ("data", "correlations", "last_task", "success",
                                      "completed", "root")}
    library.rebuild_workflow(converter, empty, tasks=whole["tasks"], envelope=envelope,
                             subprocesses=whole["subprocesses"])
    assert set(empty.tasks) == set(runtime.workflow.tasks)
    assert empty.task_tree.id == runtime.workflow.task_tree.id
    assert [t.task_spec.name for t in empty.get_tasks(state=TaskState.READY, manual=True)] == \
        ["review"]


# ---- §5 the timers' clock ---------------------------------------------------------------------

def test_the_timer_module_reads_now_through_its_module_level_datetime() -> None:
    source = inspect.getsource(timer_module)
    assert "from datetime import datetime" in source
    assert "datetime.now(timezone.utc)" in source
    previous = library.timer_clock()

    class Fixed(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime(2030, 1, 1, tzinfo=UTC)

    library.route_timer_clock(Fixed)
    try:
        assert library.timer_clock() is Fixed
        # A waiting duration timer counts from the routed 'now' and compares against it.
        timer = _waiting_timer()
        assert library.internal_value(timer, "event_value") == "2030-01-01T00:30:00+00:00"
        assert timer.state == TaskState.WAITING
    finally:
        library.route_timer_clock(previous)


def test_an_engine_step_ends_with_a_refresh_of_the_timers() -> None:
    # Why a step loops: a timer that comes due in that last refresh is left READY
    # (docs/engine.md, pitfall 2), and only another pass runs its path.
    source = inspect.getsource(BpmnWorkflow.do_engine_steps)
    assert source.rstrip().endswith("self.refresh_timers()")


# ---- §6 multi-instance wiring ------------------------------------------------------------------

def test_camunda_overrides_the_multi_instance_reading_the_fence_falls_back_from() -> None:
    assert CallActivityParser._add_multiinstance_task is not TaskParser._add_multiinstance_task
    assert "loopDataInputRef" in inspect.getsource(TaskParser._add_multiinstance_task) or \
        "loop_data_input" in inspect.getsource(TaskParser)


def test_multi_instance_bodies_are_wired_to_merge_up_front() -> None:
    specs = parse_files({FIXTURE.name: FIXTURE.read_bytes()})
    spec = specs.specs["parallel_case"]
    [mi] = [t for t in spec.task_specs.values() if isinstance(t, MultiInstanceTask)]
    body = spec.task_specs[mi.task_spec]
    assert body.completed_event.is_connected(mi.merge_child)
    # Idempotent: wiring again connects nothing twice.
    library.connect_multi_instance_merges([spec, spec])
    assert body.completed_event.n_subscribers() == 1
