"""Walking the shipped diagrams through guanjia's own engine, restored from stored rows after
every step.

``EngineCase`` drives ``server.engine`` the way the services do: the diagrams parsed by
``parse_files`` (guanjia's parser, its sandboxed scripts and working-day calendar), every
step's rows written to a ``RowStore`` exactly as ``server/services/store.py`` writes them, and
then the case rebuilt from those rows, compared with the live one, and the walk continued on
the rebuilt one. A diagram that only works in memory fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from SpiffWorkflow.util.task import TaskState

from server.engine import clock as engine_clock
from server.engine.parser import SpecSet, parse_files
from server.engine.runtime import Engine, HumanTask, Runtime, StepResult
from tests.helpers.engine_rows import RowStore, snapshot

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
MAIN_PROCESS = "concierge_service"
#: A Monday, 09:00 in the county (Beijing time): working-day and office-minute arithmetic is
#: easy to follow from here, and no public holiday falls in the weeks the walks cover.
MONDAY_MORNING = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def shipped_specs() -> SpecSet:
    """Every diagram and decision table in processes/, parsed as a deployment parses them."""
    files = sorted(PROCESSES.glob("*.bpmn")) + sorted(PROCESSES.glob("*.dmn"))
    return parse_files({p.name: p.read_bytes() for p in files})


class EngineCase:
    """One running case of a shipped diagram, stepped by BPMN element id."""

    def __init__(self, engine: Engine, clock: engine_clock.FrozenClock,
                 process_id: str = MAIN_PROCESS) -> None:
        self.engine = engine
        self.clock = clock
        self.process_id = process_id
        self.specs = shipped_specs()
        self.store = RowStore()
        self.runtime: Runtime | None = None
        self.steps = 0

    # ---- stepping ------------------------------------------------------------------------
    def start(self, data: dict[str, Any]) -> None:
        self.runtime, result = self.engine.start(self.specs, self.process_id, data)
        self._stored(result)

    def complete(self, element_id: str, data: dict[str, Any] | None = None,
                 which: int = 0) -> HumanTask:
        tasks = [t for t in self.ready() if t.element_id == element_id]
        assert tasks, f"{element_id} is not ready; ready: {self.ready_ids()}"
        task = tasks[which]
        self._stored(self.engine.complete(self.live, task.id, dict(data or {})))
        return task

    def advance(self, **delta: float) -> None:
        """Move the clock and fire what came due, as the timer worker does."""
        self.clock.advance(timedelta(**delta))
        self._stored(self.engine.advance(self.live))

    def send_message(self, name: str, payload: dict[str, Any]) -> None:
        self._stored(self.engine.send_message(self.live, name, payload))

    def release(self, task_id: str, name: str, payload: dict[str, Any]) -> None:
        """Deliver a message to one waiting task only (an item whose prerequisites are done)."""
        self._stored(self.engine.deliver_message(self.live, task_id, name, payload))

    def _stored(self, result: StepResult) -> None:
        """Write the step's rows, rebuild the case from them, and go on with the rebuilt one."""
        self.store.apply(result)
        self.steps += 1
        restored = self.engine.restore(self.specs, self.process_id, self.store.envelope,
                                       self.store.rows.values(), version=self.steps)
        assert snapshot(self.engine, restored) == snapshot(self.engine, self.live), \
            f"the rows after step {self.steps} do not restore the case"
        self.runtime = restored

    # ---- reading -------------------------------------------------------------------------
    @property
    def live(self) -> Runtime:
        assert self.runtime is not None, "start the case first"
        return self.runtime

    @property
    def completed(self) -> bool:
        return bool(self.live.workflow.completed)

    def data(self) -> dict[str, Any]:
        return self.engine.case_data(self.live)

    def ready(self) -> list[HumanTask]:
        return self.engine.ready_human_tasks(self.live)

    def ready_ids(self) -> list[str]:
        return sorted(t.element_id for t in self.ready())

    def waiting(self, element_id: str) -> list[dict[str, Any]]:
        """The data of every task waiting at ``element_id`` (a message catch, a timer)."""
        found = self.live.workflow.get_tasks(state=TaskState.WAITING)
        return [t.data for t in found if t.task_spec.name == element_id]

    def completed_ids(self) -> set[str]:
        found = self.live.workflow.get_tasks(state=TaskState.COMPLETED)
        return {t.task_spec.bpmn_id for t in found if t.task_spec.bpmn_id}
