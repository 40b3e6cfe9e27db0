"""The fence: every use of SpiffWorkflow's internals, behind named functions.

SpiffWorkflow 3.2 offers no public way to do a few things guanjia needs (see docs/engine.md,
"What we take from the library's insides"). Each of them is done here and nowhere else, and
each function has a contract test (``tests/engine/test_library_contract.py``) that fails
loudly when a library upgrade changes what it relies on. The rest of ``server/engine`` uses
the library's public API and these functions only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.workflow import Workflow

#: The library version these functions were written and contract-tested against.
TESTED_VERSION = "3.2.0"


# ---- 1. which tasks a step touched (docs/engine.md §1) ---------------------------------------

@dataclass
class TaskChanges:
    """Tasks a step created, moved or removed, as the library reports them to the hooks."""

    touched: list[Task] = field(default_factory=list)
    removed: list[tuple[Any, UUID, Task | None]] = field(default_factory=list)  # wf, id, task
    # Tasks rewritten in place (data, a timer's instant) that did not move: saved, but
    # nobody is told they opened or closed.
    rewritten: list[Task] = field(default_factory=list)


_recording = threading.local()


def current_changes() -> TaskChanges | None:
    """The changes being recorded in this thread, or ``None`` outside ``recording_changes``."""
    changes: TaskChanges | None = getattr(_recording, "changes", None)
    return changes


@contextmanager
def recording_changes(changes: TaskChanges) -> Iterator[TaskChanges]:
    """Record into ``changes`` every task the library creates, moves or drops meanwhile.

    Finding changes by scanning would cost the size of the whole case on every step; the
    hooks make it cost what the step did. ``Task.last_state_change`` moves exactly when
    ``Task._set_state`` changes the state or a task is created, so nothing else is missed.
    """
    install_change_hooks()
    previous = current_changes()
    _recording.changes = changes
    try:
        yield changes
    finally:
        _recording.changes = previous


def install_change_hooks() -> None:
    """Wrap ``Task.__init__``, ``Task._set_state`` and ``Workflow._remove_task`` (idempotent).

    Process-wide, but they only record while ``recording_changes`` is active in the thread.
    """
    if getattr(Task, "_guanjia_hooked", False):
        return
    original_init = Task.__init__
    original_set_state = Task._set_state
    original_remove = Workflow._remove_task

    def init(self: Task, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        changes = current_changes()
        if changes is not None:
            changes.touched.append(self)

    def set_state(self: Task, value: int) -> None:
        changes = current_changes()
        if changes is not None and value != self._state:
            changes.touched.append(self)
        original_set_state(self, value)

    def remove(self: Any, task_id: UUID) -> None:
        changes = current_changes()
        if changes is not None:
            changes.removed.append((self, task_id, self.tasks.get(task_id)))
        original_remove(self, task_id)

    Task.__init__ = init
    Task._set_state = set_state
    Workflow._remove_task = remove
    Task._guanjia_hooked = True


# ---- 2. a task's links, without loading the tasks (docs/engine.md §2) ------------------------

def parent_id(task: Task) -> UUID | None:
    """The id of the task's parent, as stored (the ``parent`` property looks the task up)."""
    value: UUID | None = task._parent
    return value


def child_ids(task: Task) -> list[UUID]:
    """The ids of the task's children, as stored (``children`` looks every one of them up)."""
    return list(task._children)


# ---- 3. a task's internal data (docs/engine.md §3) -------------------------------------------

def internal_value(task: Task, name: str, default: Any = None) -> Any:
    """One value of the task's internal data (e.g. a timer's ``event_value``)."""
    return task._get_internal_data(name, default)


def set_internal_values(task: Task, **values: Any) -> None:
    """Set values of the task's internal data (e.g. move a timer's ``event_value``)."""
    task._set_internal_data(**values)


# ---- 4. the workflow rebuilt from stored pieces (docs/engine.md §4) --------------------------

def encoding_for_json(registry: DefaultRegistry) -> bool:
    """Whether the registry is converting for the JSON encoder (then data is left as it is)."""
    return bool(registry._encoder_mode)


def workflow_converter(registry: DefaultRegistry) -> Any:
    """The converter object the registry holds for ``BpmnWorkflow``.

    The registry keeps only bound ``from_dict`` functions wrapped in a ``functools.partial``;
    the converter that owns them (with ``mapping_from_dict`` and friends) is reached through it.
    """
    from_dict = registry.convert_from_dict[registry.typenames[BpmnWorkflow]]
    return from_dict.args[0].__self__


def rebuild_workflow(converter: Any, workflow: BpmnWorkflow, *, tasks: dict[str, Any],
                     envelope: dict[str, Any], subprocesses: dict[str, dict[str, Any]]) -> None:
    """Fill an empty workflow (made with ``deserializing=True``) from stored pieces.

    ``tasks`` are the top workflow's task dicts by id, ``envelope`` its attributes (with
    ``root``), ``subprocesses`` each live subprocess's attributes with its ``tasks``.
    """
    workflow.tasks = converter.mapping_from_dict(tasks, UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(envelope["root"]))
    converter.set_default_attributes(workflow, dict(envelope))
    converter.subprocesses_from_dict(subprocesses, workflow)


# ---- 5. the timers' clock (docs/engine.md §5) ------------------------------------------------

def route_timer_clock(datetime_class: type[datetime]) -> None:
    """Make the library's timer module read ``datetime_class.now`` instead of the real time.

    The timer module calls ``datetime.now(timezone.utc)`` on its module-level name and offers
    no hook; replacing that name is the only way to move the engine's time.
    """
    _timer_module.datetime = datetime_class


def timer_clock() -> type[datetime]:
    """The ``datetime`` class the library's timer module reads now (contract tests)."""
    value: type[datetime] = _timer_module.datetime
    return value


# ---- 6. multi-instance wiring (docs/engine.md §6) ---------------------------------------------

def read_standard_loop_references(parser: TaskParser, loop_characteristics: Any) -> None:
    """Parse a multi-instance the BPMN way (loopDataInputRef/outputDataItem), not Camunda's.

    Camunda's parser overrides the method and writes the unchanged element back into the
    collection, dropping each instance's output; the base class's reading collects them.
    """
    TaskParser._add_multiinstance_task(parser, loop_characteristics)


def connect_multi_instance_merges(process_specs: Iterable[Any]) -> None:
    """Wire each multi-instance body's completion to its parent's ``merge_child``, up front.

    The library connects ``merge_child`` only when it creates a child; a case restored from
    storage onto freshly parsed specs would otherwise never see its instances merge.
    """
    seen: set[int] = set()
    for spec in process_specs:
        if id(spec) in seen:
            continue
        seen.add(id(spec))
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, MultiInstanceTask):
                body = spec.task_specs[task_spec.task_spec]
                merge: Callable[..., Any] = task_spec.merge_child
                if not body.completed_event.is_connected(merge):
                    body.completed_event.connect(merge)
