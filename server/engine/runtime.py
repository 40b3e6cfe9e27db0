"""Running cases on SpiffWorkflow and persisting only what each step changed.

A case's state is the library's own serialization cut into pieces: a small envelope (the
top workflow's attributes), one row per task, and one envelope row per live subprocess. After
each step the runtime finds the tasks that changed (their ``last_state_change`` moved, they
are new, or a child of theirs changed) and hands back exactly those rows, so the cost of a step
does not depend on how long the case has been running.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import (
    MessageEventDefinition as CamundaMessageEventDefinition,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import Task, TaskState

from server.engine import clock, library
from server.engine.errors import (
    DiagramError,
    ScriptError,
    ScriptLimitError,
    StepNotSettledError,
    TaskNotReadyError,
)
from server.engine.library import TaskChanges
from server.engine.parser import SpecSet
from server.engine.scripting import ScriptLimitExceeded, make_script_engine, step_budget

TOP = "top"
ENVELOPE = "env"
ENVELOPE_PREFIX = "w:"

#: Rows as compact UTF-8 JSON; one encoder for every row (``json.dumps`` with options builds
#: a new one per call).
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class FullDataTaskConverter(TaskConverter):  # type: ignore[misc]
    """Store each task's whole data, not a delta against its parent.

    The library's delta is relative to the parent's data *at serialization time*; rows written
    at different steps would then restore inconsistently once a parent's data moved on.
    """

    def to_dict(self, task: Task) -> dict[str, Any]:
        return {
            "id": str(task.id),
            "parent": str(parent) if (parent := library.parent_id(task)) is not None else None,
            "children": [str(child) for child in library.child_ids(task)],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            # ``convert`` drops from a dict what ``clean`` would (DataSafeRegistry).
            "data": self.registry.convert(task.data),
        }


# The serializer reads any dict holding a ``typename`` key as one of its own objects: a form
# field or script variable of that name once made a case unreadable after a restart
# (``KeyError: 'spec'``). Such data dicts are stored wrapped under this marker instead.
SERIALIZER_TAG = "typename"
_ESCAPED_DICT = "guanjia.data"


#: Values the registry hands back unchanged (exact classes: a subclass may be registered).
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


class _EscapedDict(dict):  # type: ignore[type-arg]
    """Stands for a data dict that carries the serializer's tag as a key of its own."""


class DataSafeRegistry(DefaultRegistry):  # type: ignore[misc]
    """The library's registry, except that data dicts with a ``typename`` key round-trip."""

    def __init__(self) -> None:
        super().__init__()
        self.register(_EscapedDict, self._escape, self._unescape, typename=_ESCAPED_DICT)

    def convert(self, obj: Any) -> Any:
        cls = obj.__class__
        if cls in _JSON_SCALARS:
            return obj
        if cls is dict and not library.encoding_for_json(self):
            if SERIALIZER_TAG in obj:
                return self.convert_to_dict[_ESCAPED_DICT](obj)
            # Task data is mostly text and numbers: those are kept as they are here, without
            # the stock registry's three calls per value (issue 18: its walk was 7 % of a
            # request). Anything else takes the stock way; what is dropped is what the stock
            # ``clean`` drops (functions and modules a script left in its variables).
            converted = {}
            for key, value in obj.items():
                if value.__class__ in _JSON_SCALARS:
                    converted[key] = value
                elif not callable(value) and not isinstance(value, ModuleType):
                    converted[key] = self.convert(value)
            return converted
        if cls is list and not library.encoding_for_json(self):
            return [value if value.__class__ in _JSON_SCALARS else self.convert(value)
                    for value in obj]
        return super().convert(obj)

    def _escape(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {"items": {k: self.convert(v) for k, v in self.clean(obj).items()}}

    def _unescape(self, dct: dict[str, Any]) -> dict[str, Any]:
        return {k: self.restore(v) for k, v in dct["items"].items()}


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[Task] = FullDataTaskConverter
    registry = BpmnWorkflowSerializer.configure(config, DataSafeRegistry())
    # Dates and decimals raise in the stock registry (docs/engine.md, pitfall 12).
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]), typename="date")
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]),
                      typename="Decimal")
    return BpmnWorkflowSerializer(registry)


@dataclass
class HumanTask:
    """A user or manual task as people see it."""

    id: str
    element_id: str
    name: str
    state: str  # ready | completed | cancelled
    process_id: str
    lane: str | None = None
    form_key: str | None = None
    candidate_groups: list[str] = field(default_factory=list)
    assignee: str | None = None
    due_at: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    documentation: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class MessageWait:
    """A task waiting for a named message, and what the activity that called its process holds.

    ``caller_data`` is the data of the multi-instance activity whose instance this process is
    (its merged outputs so far, e.g. ``item_results``); empty for a process not started so.
    """

    task_id: str
    element_id: str
    data: dict[str, Any]
    caller_data: dict[str, Any]


@dataclass
class PendingTimerView:
    task_id: str
    element_id: str
    due_at: datetime


@dataclass
class StepResult:
    """What one step changed, ready to be written in the step's transaction."""

    envelope: str
    upserts: list[tuple[str, str, str]]
    deletes: list[str]
    deleted_human: list[str]  # the deleted rows that were people's tasks
    deleted_workflows: list[str]
    human: list[HumanTask]
    timers: list[PendingTimerView]
    timers_gone: list[str]
    events: list[dict[str, Any]]
    completed: bool
    data: dict[str, Any]
    #: When the case ended in this step: the whole state it keeps from now on (envelope and
    #: rows, see ``Engine.ended_state``), which replaces every row written before.
    ended: tuple[str, list[tuple[str, str, str]]] | None = None


class Runtime:
    """One live case: the workflow plus the bookkeeping to persist only changes."""

    def __init__(self, workflow: BpmnWorkflow, spec_set: SpecSet, process_id: str) -> None:
        self.workflow = workflow
        self.spec_set = spec_set
        self.process_id = process_id
        self.subprocess_ids: set[UUID] = set()
        self.version = 0



def _reason(exc: SpiffWorkflowException) -> str:
    """The library's message plus the error underneath it, which it leaves out."""
    inner = exc.__cause__ or exc.__context__  # the library wraps it without keeping it
    text = str(exc).strip().rstrip(".").strip()
    if inner is not None and (not str(inner) or str(inner) not in text):
        text = f"{text} ({type(inner).__name__}: {inner})".replace(": )", ")")
    return text


def _task_name(task: Task) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or spec.name)


def _is_human(task: Task) -> bool:
    return bool(getattr(task.task_spec, "manual", False))


def _is_timer(task: Task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


#: Internal-data key of a multi-instance call activity's instance listing the case variables
#: it no longer holds itself because they are the same as its multi-instance parent's.
SHARED_KEYS = "guanjia_shared_keys"


def _shareable_instance(task: Task) -> set[str] | None:
    """The variables an instance of a multi-instance call activity must keep itself, or
    ``None`` when the task is no such instance (then it keeps its whole data).

    Each instance starts as a copy of the activity's data, the whole ``items`` list included,
    so storing every instance in full cost the square of the item count (issue 15). An
    instance whose called process has an ioSpecification with inputs and outputs reads only
    the named inputs and hands back only the named outputs; every other variable it holds
    stays equal to its parent's for as long as the parent runs (only instances' merges change
    the parent, and they bring nothing but the element variable and the outputs), so merging
    it back is a no-op and it can be read from the parent instead.
    """
    spec = task.task_spec
    parent = task.parent
    if parent is None or not isinstance(spec, CallActivity):
        return None
    mi = parent.task_spec
    if not isinstance(mi, MultiInstanceTask) or mi.task_spec != spec.name:
        return None
    called = task.workflow.top_workflow.subprocess_specs.get(spec.spec)
    io = getattr(called, "io_specification", None)
    if io is None or not io.data_inputs or not io.data_outputs:
        return None
    keep = {var.bpmn_id for var in (*io.data_inputs, *io.data_outputs)}
    for ref in (mi.input_item, mi.output_item):
        if ref is not None:
            keep.add(ref.bpmn_id)
    # A separate output collection grows on the parent as instances finish: an instance keeps
    # its own copy of it. Camunda's ``collection`` is read and written back in place (each
    # finished instance puts its element variable back at its index, equal to what was there
    # unless a script changed the element in place), so the input collection is shared.
    data_input = mi.data_input.bpmn_id if mi.data_input is not None else None
    if mi.data_output is not None and mi.data_output.bpmn_id != data_input:
        keep.add(mi.data_output.bpmn_id)
    return keep


def _share_with_parent(task: Task) -> None:
    """Drop from a multi-instance call activity's instance the variables it holds equal to
    its parent's (see ``_shareable_instance``) and note their names; ``task_data`` puts them
    back for reading."""
    keep = _shareable_instance(task)
    if keep is None:
        return
    parent_data = task.parent.data
    shared = [key for key, value in task.data.items()
              if key not in keep and key in parent_data and parent_data[key] == value]
    if not shared:
        return
    for key in shared:
        del task.data[key]
    known = task.internal_data.get(SHARED_KEYS) or []
    task.internal_data[SHARED_KEYS] = known + [key for key in shared if key not in known]


def task_data(task: Task) -> dict[str, Any]:
    """A task's variables as a script on it sees them: its own data, with the variables a
    multi-instance instance shares with its parent put back (a new dict)."""
    shared = task.internal_data.get(SHARED_KEYS)
    if not shared or task.parent is None:
        return dict(task.data)
    parent_data = task.parent.data
    data = {key: parent_data[key] for key in shared if key in parent_data}
    data.update(task.data)
    return data


def _changes() -> TaskChanges:
    """The changes the running step records (always called inside ``Engine._step``)."""
    changes = library.current_changes()
    assert changes is not None, "only inside a step"
    return changes


#: How many refresh-and-run passes one step may take before it counts as not settling.
SETTLE_PASSES = 20


@contextmanager
def _no_hook() -> Iterator[Callable[[], object] | None]:
    yield None


class Engine:
    """The engine boundary: start, restore, step and describe cases.

    ``around_step`` wraps every step (scripts included) and may hand out a callable that the
    sandbox calls once when the step turns out slow; the host uses it to let go of its
    database transaction meanwhile (``server/services/store.py``).
    """

    def __init__(self) -> None:
        self.around_step: Callable[[], AbstractContextManager[Callable[[], object] | None]] = \
            _no_hook
        #: Refresh-and-run passes one step may take before it counts as not settling.
        self.settle_passes = SETTLE_PASSES
        clock.install()
        library.install_change_hooks()
        self.serializer = _make_serializer()
        self.registry = self.serializer.registry
        self._wf_converter = library.workflow_converter(self.registry)
        self._typenames = self.registry.typenames
        #: A task's row as the registry makes it, without its type lookup per task.
        self._task_to_dict = self.registry.convert_to_dict[self._typenames[Task]]

    # ---- lifecycle -------------------------------------------------------------------
    def start(self, spec_set: SpecSet, process_id: str,
              data: dict[str, Any]) -> tuple[Runtime, StepResult]:
        """Create and run a case until it waits; raises ``ScriptError`` or ``DiagramError``."""
        if process_id not in spec_set.specs:
            raise DiagramError(f"process {process_id!r} is not deployed")
        workflow = BpmnWorkflow(spec_set.specs[process_id],
                                spec_set.subprocess_specs[process_id],
                                script_engine=make_script_engine())
        runtime = Runtime(workflow, spec_set, process_id)
        start = workflow.task_tree
        # The start form's data is the case's first data.
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        start.data.update(data)
        # The tree the constructor built exists before any hook could see it: all of it is new.
        return runtime, self._step(runtime, lambda: self._advance(runtime),
                                   created=list(workflow.tasks.values()))

    def restore(self, spec_set: SpecSet, process_id: str, envelope: str,
                rows: Iterable[tuple[str, str, str]], version: int) -> Runtime:
        """Rebuild a live case from its envelope and rows (id, workflow, body)."""
        env = json.loads(envelope)
        top_tasks: dict[str, Any] = {}
        sub_tasks: dict[str, dict[str, Any]] = {}
        sub_envs: dict[str, dict[str, Any]] = {}
        for row_id, wf_key, body in rows:
            if wf_key == ENVELOPE:
                sub_envs[row_id[len(ENVELOPE_PREFIX):]] = json.loads(body)
            elif wf_key == TOP:
                top_tasks[row_id] = json.loads(body)
            else:
                sub_tasks.setdefault(wf_key, {})[row_id] = json.loads(body)
        workflow = BpmnWorkflow(spec_set.specs[process_id], spec_set.subprocess_specs[process_id],
                                script_engine=make_script_engine(), deserializing=True)
        subs = {sp_id: {**sp_env, "tasks": sub_tasks.get(sp_id, {})}
                for sp_id, sp_env in sub_envs.items()}
        library.rebuild_workflow(self._wf_converter, workflow, tasks=top_tasks, envelope=env,
                                 subprocesses=subs)
        workflow.bpmn_events = self.registry.restore(env.get("bpmn_events", []))
        runtime = Runtime(workflow, spec_set, process_id)
        runtime.subprocess_ids = set(workflow.subprocesses)
        runtime.version = version
        return runtime

    # ---- steps -----------------------------------------------------------------------
    def complete(self, runtime: Runtime, task_id: str, data: dict[str, Any]) -> StepResult:
        """Complete a ready human task with submitted data and run on until the case waits."""
        task = self.find_ready_human_task(runtime, task_id)

        def act() -> None:
            # Assign submitted values ourselves: the library's form merge mangles lists
            # (docs/engine.md, pitfall 8).
            task.data.update(data)
            task.run()
            self._advance(runtime)

        return self._step(runtime, act)

    def advance(self, runtime: Runtime) -> StepResult:
        """Fire timers that are due by the engine clock and run on."""
        return self._step(runtime, lambda: self._advance(runtime))

    def send_message(self, runtime: Runtime, name: str, payload: dict[str, Any]) -> StepResult:
        """Deliver a BPMN message (e.g. termination) to the case; raises ``TaskNotReadyError``."""
        waiting = {e.name for e in runtime.workflow.waiting_events()
                   if e.event_type.endswith("MessageEventDefinition")}
        if name not in waiting:
            raise TaskNotReadyError(f"the case is not waiting for message {name!r}")

        def act() -> None:
            # Camunda's message definition expects its payload wrapped with a result variable.
            wrapped = {"payload": payload, "result_var": f"{name}_payload"}
            runtime.workflow.send_event(BpmnEvent(CamundaMessageEventDefinition(name), wrapped))
            self._advance(runtime)

        return self._step(runtime, act)

    def reschedule(self, runtime: Runtime, task_id: str, *, due: datetime | None,
                   data: dict[str, Any], timers: dict[str, datetime]) -> StepResult:
        """Move a waiting human task's deadline and its boundary timers, without a step.

        ``data`` is merged into the task's data (e.g. the recomputed deadline variables),
        ``due`` replaces the due moment fixed when the task opened, and each waiting timer on
        the task's boundary named in ``timers`` (by element id) is set to wait until the given
        instant. Nothing runs: a timer moved into the past fires at the next advance.
        Raises ``TaskNotReadyError`` when the task is not waiting for a person.
        """
        task = self.find_ready_human_task(runtime, task_id)

        def act() -> None:
            changes = _changes()
            task.data.update(data)
            fixed = task.internal_data.get("guanjia_assignment")
            if fixed is not None:
                task.internal_data["guanjia_assignment"] = dict(
                    fixed, due=due.isoformat() if due is not None else None)
            changes.rewritten.append(task)
            for sibling in task.parent.children if task.parent is not None else []:
                name = sibling.task_spec.name
                if name in timers and _is_timer(sibling) and sibling.state == TaskState.WAITING:
                    library.set_internal_values(sibling, event_value=timers[name].isoformat())
                    changes.rewritten.append(sibling)

        return self._step(runtime, act)

    def reschedule_timer(self, runtime: Runtime, task_id: str, at: datetime) -> StepResult:
        """Make one waiting timer wait until ``at`` instead, without a step.

        Raises ``TaskNotReadyError`` when ``task_id`` is not a waiting timer.
        """
        try:
            task = runtime.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, WorkflowException, KeyError) as exc:
            raise TaskNotReadyError(f"no task {task_id} in this case") from exc
        if task is None or not _is_timer(task) or task.state != TaskState.WAITING:
            raise TaskNotReadyError(f"task {task_id} is not a waiting timer")

        def act() -> None:
            library.set_internal_values(task, event_value=at.isoformat())
            _changes().rewritten.append(task)

        return self._step(runtime, act)

    def message_waits(self, runtime: Runtime, name: str) -> list[MessageWait]:
        """Every task that waits for message ``name``, with its data (read-only copies)."""
        found = []
        for task in list(runtime.workflow.event_manager.tasks.values()):
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, CamundaMessageEventDefinition) and definition.name == name:
                found.append(MessageWait(str(task.id), task.task_spec.name, dict(task.data),
                                         dict(self._caller_data(runtime, task))))
        return found

    def _caller_data(self, runtime: Runtime, task: Task) -> dict[str, Any]:
        wf = task.workflow
        if wf is runtime.workflow:
            return {}
        instance = runtime.workflow.get_task_from_id(wf.parent_task_id)
        body = instance.parent if instance is not None else None
        # A multi-instance activity names the spec of its instances in ``task_spec``.
        if body is None or getattr(body.task_spec, "task_spec", None) != instance.task_spec.name:
            return {}
        return body.data  # type: ignore[no-any-return]

    def deliver_message(self, runtime: Runtime, task_id: str, name: str,
                        payload: dict[str, Any]) -> StepResult:
        """Deliver message ``name`` to the one waiting task ``task_id`` (not to every task
        that waits for the same message) and run on; raises ``TaskNotReadyError``."""
        waiting = {w.task_id for w in self.message_waits(runtime, name)}
        if task_id not in waiting:
            raise TaskNotReadyError(f"task {task_id} is not waiting for message {name!r}")
        task = runtime.workflow.get_task_from_id(UUID(task_id))

        def act() -> None:
            wrapped = {"payload": payload, "result_var": f"{name}_payload"}
            # ``target`` limits the catch to the waiting task's own process instance.
            event = BpmnEvent(CamundaMessageEventDefinition(name), wrapped, target=task.workflow)
            runtime.workflow.event_manager.catch(event, internal=False)
            self._advance(runtime)

        return self._step(runtime, act)

    def _advance(self, runtime: Runtime) -> None:
        """Fire due timers and run engine steps until nothing but people and waits is left.

        Raises ``StepNotSettledError`` when the case still has work of its own to do after
        ``settle_passes`` passes (a timer loop that fires at once, again and again).
        """
        workflow = runtime.workflow
        changes = _changes()
        # A timer that fires in the engine's last refresh is left READY with its path not run
        # (docs/engine.md, pitfall 2): step again while any such task stands ready. Only tasks
        # that moved in this pass can be one (a scan of every waiting task grew with the case).
        restless: list[Task] = []
        for _ in range(self.settle_passes):
            start = len(changes.touched)
            workflow.refresh_timers()
            workflow.do_engine_steps()
            restless = [t for t in changes.touched[start:]
                        if t.state == TaskState.READY and not _is_human(t)]
            if not restless:
                return
        names = sorted({t.task_spec.name for t in restless})
        raise StepNotSettledError(
            f"the step did not settle after {self.settle_passes} passes"
            + (f": {', '.join(names)} kept getting ready again" if names else ""),
            element_id=names[0] if names else None)

    def _step(self, runtime: Runtime, act: Any, created: list[Task] | None = None
              ) -> StepResult:
        changes = TaskChanges()
        changes.touched.extend(created or [])
        with self.around_step() as on_slow, step_budget(on_slow):
            try:
                with library.recording_changes(changes):
                    act()
            except SpiffWorkflowException as exc:
                element = getattr(getattr(exc, "task_spec", None), "name", None)
                raise ScriptError(_reason(exc), element_id=element) from exc
            except DiagramError as exc:
                raise ScriptError(exc.message) from exc
            except ScriptLimitExceeded as exc:
                raise ScriptLimitError(exc.message, element_id=exc.element_id) from None
            return self._collect(runtime, changes)

    # ---- persistence ------------------------------------------------------------------
    def _collect(self, runtime: Runtime, changes: TaskChanges) -> StepResult:
        upserts: list[tuple[str, str, str]] = []
        deletes: list[str] = []
        human: list[HumanTask] = []
        changed_tasks: list[Task] = []
        by_workflow: dict[int, tuple[Any, dict[UUID, Task]]] = {}

        def mark(task: Task) -> None:
            wf = task.workflow
            if wf.tasks.get(task.id) is not task:
                return  # created and dropped within the step, or its subprocess is gone
            by_workflow.setdefault(id(wf), (wf, {}))[1][task.id] = task

        for task in changes.touched:
            mark(task)
            parent = task.parent
            if parent is not None:
                mark(parent)  # children lists and multi-instance merges live on the parent
        for task in changes.rewritten:
            mark(task)
        deleted_human, deleted_timers = [], []
        for _wf, task_id, removed in changes.removed:
            deletes.append(str(task_id))
            if removed is not None:
                if _is_timer(removed):
                    deleted_timers.append(str(task_id))
                # Only a task that was once ready can have a work item to close.
                never_opened = TaskState.PREDICTED_MASK | TaskState.FUTURE
                if _is_human(removed) and not removed.state & never_opened:
                    deleted_human.append(str(task_id))
                if removed.parent is not None:
                    mark(removed.parent)

        # Sets of ids, compared as they are: a step costs what it did, not the case's size.
        live = set(runtime.workflow.subprocesses)
        for wf, dirty in by_workflow.values():
            key = TOP if wf is runtime.workflow else str(wf.parent_task_id)
            if key != TOP and wf.parent_task_id not in live:
                # A subprocess that ended or was cancelled in this step: its rows go as a
                # whole, but people must still hear that its open tasks closed.
                changed_tasks.extend(dirty.values())
                continue
            for task in dirty.values():
                _share_with_parent(task)
                if _is_human(task) and task.state == TaskState.READY:
                    # Fix who and by when at the moment the task opens, inside the step, so
                    # the answer is stored with the task and never drifts on a later read.
                    self.describe(runtime, task, remember=True)
                upserts.append((str(task.id), key, _dumps(self._task_to_dict(task))))
                changed_tasks.append(task)
            if key != TOP:
                upserts.append((ENVELOPE_PREFIX + key, ENVELOPE,
                                _dumps(self._sub_envelope(wf))))
        gone_workflows = sorted(str(i) for i in runtime.subprocess_ids - live)
        runtime.subprocess_ids = live

        # People hear of a task when it opens or closes: when the task itself moved, not when
        # it was written again only because a child of it changed.
        moved = {id(task) for task in changes.touched}
        for task in changed_tasks:
            if id(task) in moved and _is_human(task) and task.state & (
                    TaskState.READY | TaskState.COMPLETED | TaskState.CANCELLED):
                human.append(self.describe(runtime, task))
        # Only tasks that changed can have started or stopped waiting on a timer.
        timers, timers_gone = [], []
        for task in changed_tasks:
            if _is_timer(task):
                view = self._timer_view(task) if task.state == TaskState.WAITING else None
                if view is not None:
                    timers.append(view)
                else:
                    timers_gone.append(str(task.id))
        timers_gone.extend(deleted_timers)
        events = [self.registry.convert(e) for e in runtime.workflow.get_events()]
        return StepResult(
            envelope=_dumps(self._top_envelope(runtime.workflow)),
            upserts=upserts, deletes=deletes, deleted_human=deleted_human,
            deleted_workflows=gone_workflows,
            human=human, timers=timers,
            timers_gone=timers_gone, events=events,
            completed=runtime.workflow.completed,
            data=self.case_data(runtime),
            ended=self.ended_state(runtime) if runtime.workflow.completed else None,
        )

    def ended_state(self, runtime: Runtime) -> tuple[str, list[tuple[str, str, str]]]:
        """What an ended case keeps: its envelope and one task row (id, workflow, body).

        Nothing runs in an ended case again, and its history is in the audit log; what is
        still read from its state is its final variables (``case_data``: the case page, the
        API, the auditor's re-execution, which compares them with what the recorded inputs
        give). So the tree shrinks to its root, completed, with no children and no
        subprocesses, and the final variables held by the root, the workflow's last task,
        with the workflow's own data left empty (``case_data`` then reads the last task):
        the variables stay in the engine rows, which the seal of the ended case covers.
        Restoring these rows gives a completed workflow with the same ``case_data``.
        """
        wf = runtime.workflow
        root = wf.task_tree
        data = self.case_data(runtime)
        body = dict(self.registry.convert(root), children=[], state=TaskState.COMPLETED,
                    internal_data={}, data=self.registry.convert(data))
        env = self._top_envelope(wf)
        env.update(last_task=str(root.id), bpmn_events=[], data={})
        return _dumps(env), [(str(root.id), TOP, _dumps(body))]

    def _fields(self, wf: Any) -> dict[str, Any]:
        return {
            "data": self.registry.convert(wf.data),
            "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success,
            "completed": wf.completed,
            "root": str(wf.task_tree.id),
        }

    def _top_envelope(self, wf: BpmnWorkflow) -> dict[str, Any]:
        env = self._fields(wf)
        env["bpmn_events"] = self.registry.convert(wf.bpmn_events)
        return env

    def _sub_envelope(self, wf: Any) -> dict[str, Any]:
        env = self._fields(wf)
        env["parent_task_id"] = str(wf.parent_task_id)
        env["spec"] = wf.spec.name
        env["typename"] = self._typenames[type(wf)]
        return env

    # ---- reading ----------------------------------------------------------------------
    def find_ready_human_task(self, runtime: Runtime, task_id: str) -> Task:
        try:
            task = runtime.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, WorkflowException, KeyError) as exc:
            raise TaskNotReadyError(f"no task {task_id} in this case") from exc
        if task is None or not _is_human(task) or task.state != TaskState.READY:
            raise TaskNotReadyError(f"task {task_id} is not waiting for a person")
        return task

    def describe(self, runtime: Runtime, task: Task, *, remember: bool = False) -> HumanTask:
        spec = task.task_spec
        ext: dict[str, Any] = dict(getattr(spec, "extensions", {}) or {})
        state = ("ready" if task.state == TaskState.READY else
                 "completed" if task.state == TaskState.COMPLETED else
                 "cancelled" if task.state == TaskState.CANCELLED else "waiting")
        form = getattr(spec, "form", None)
        form_key = ext.pop("formKey", None) or getattr(form, "key", None)
        groups_expr = ext.pop("candidateGroups", "") or ""
        assignee_expr = ext.pop("assignee", None)
        due_expr = ext.pop("dueDate", None)
        fixed = task.internal_data.get("guanjia_assignment")
        if fixed is None and state == "ready":
            due_text = self._expression(task, due_expr) if due_expr else None
            assignee = self._expression(task, assignee_expr) if assignee_expr else None
            fixed = {
                "groups": [g.strip() for g in
                           str(self._expression(task, groups_expr) or "").split(",")
                           if g.strip()],
                "assignee": str(assignee) if assignee else None,
                "due": datetime.fromisoformat(str(due_text)).isoformat() if due_text else None,
            }
            if remember:
                task.internal_data["guanjia_assignment"] = fixed
        fixed = fixed or {"groups": [], "assignee": None, "due": None}
        return HumanTask(
            id=str(task.id), element_id=spec.name, name=_task_name(task), state=state,
            process_id=task.workflow.spec.name, lane=getattr(spec, "lane", None),
            form_key=form_key, candidate_groups=list(fixed["groups"]),
            assignee=fixed["assignee"],
            due_at=datetime.fromisoformat(fixed["due"]) if fixed["due"] else None,
            properties=ext, documentation=getattr(spec, "documentation", None),
            data=task.data,
        )

    def _expression(self, task: Task, text: str | None) -> Any:
        if not text:
            return None
        text = text.strip()
        if text.startswith("${") and text.endswith("}"):
            try:
                return task.workflow.script_engine.evaluate(task, text[2:-1])
            except SpiffWorkflowException as exc:
                raise ScriptError(_reason(exc), element_id=task.task_spec.name) from exc
            except ScriptLimitExceeded as exc:
                raise ScriptLimitError(exc.message, element_id=task.task_spec.name) from None
        return text

    def ready_human_tasks(self, runtime: Runtime) -> list[HumanTask]:
        return [self.describe(runtime, t)
                for t in runtime.workflow.get_tasks(state=TaskState.READY, manual=True)]

    def _timer_view(self, task: Task) -> PendingTimerView | None:
        value = library.internal_value(task, "event_value")
        if isinstance(value, dict):
            value = value.get("next")
        if not value:
            return None
        # The library parses with the clock-patched datetime class; hand out a plain one.
        due = datetime.fromisoformat(TimerEventDefinition.get_datetime(str(value)).isoformat())
        return PendingTimerView(str(task.id), task.task_spec.name, due)

    def boundary_timers(self, runtime: Runtime, task_id: str) -> list[PendingTimerView]:
        """The timers waiting on the boundary of a ready human task.

        Raises ``TaskNotReadyError`` when the task is not waiting for a person.
        """
        task = self.find_ready_human_task(runtime, task_id)
        found = []
        for sibling in task.parent.children if task.parent is not None else []:
            if _is_timer(sibling) and sibling.state == TaskState.WAITING:
                view = self._timer_view(sibling)
                if view is not None:
                    found.append(view)
        return found

    def waiting_timers(self, runtime: Runtime) -> list[PendingTimerView]:
        """Every timer the case waits on, with its due instant."""
        found = []
        for task in list(runtime.workflow.event_manager.tasks.values()):
            if isinstance(getattr(task.task_spec, "event_definition", None),
                          TimerEventDefinition):
                view = self._timer_view(task)
                if view is not None:
                    found.append(view)
        return found

    def case_data(self, runtime: Runtime) -> dict[str, Any]:
        """The case's current variables: the latest completed top-level task's data."""
        wf = runtime.workflow
        if wf.completed:
            return dict(wf.data) or dict(wf.last_task.data if wf.last_task else {})
        task = wf.last_task
        while task is not None and task.workflow is not wf:
            task = wf.get_task_from_id(task.workflow.parent_task_id)
        return task_data(task) if task is not None else {}

    def scope_data(self, runtime: Runtime) -> dict[str, Any]:
        """The variables where the case stands now, inside embedded sub-processes (a
        sub-process's own variables, e.g. a plan made inside it, are not yet in ``case_data``)
        but not inside processes with an ioSpecification, which see only what was passed in
        (the department items)."""
        wf = runtime.workflow
        if wf.completed:
            return self.case_data(runtime)
        latest = wf.last_task
        for sub in wf.subprocesses.values():
            if (sub.completed or sub.last_task is None
                    or getattr(sub.spec, "io_specification", None) is not None):
                continue
            if latest is None or sub.last_task.last_state_change > latest.last_state_change:
                latest = sub.last_task
        return task_data(latest) if latest is not None else {}

    def full_state(self, runtime: Runtime) -> dict[str, Any]:
        """The library's own whole serialization (tests compare restores against it)."""
        return self.serializer.to_dict(runtime.workflow)  # type: ignore[no-any-return]
