"""Harness: run the diagrams in processes/ raw on SpiffWorkflow, with stand-in script functions.

The app's engine (server/engine/) will own parsing, the script environment and the clock;
until it exposes a public API these tests drive SpiffWorkflow directly. The stand-ins below
count working days as Monday–Friday only (the app uses the Chinese holiday calendar).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
MAIN_PROCESS = "concierge_service"


class Clock:
    """A controllable 'now' shared by the timer module and the stand-in functions."""

    def __init__(self) -> None:
        # A Monday morning, so working-day arithmetic is easy to follow.
        self.now = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_environment(clock: Clock) -> TaskDataEnvironment:
    def add_working_days(start: datetime, n: float) -> datetime:
        day, left = start, int(n)
        while left > 0:
            day += timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
        return day

    def due_in_working_days(n: float) -> str:
        return add_working_days(clock.now, n).isoformat()

    def due_in_minutes(n: float) -> str:
        return (clock.now + timedelta(minutes=n)).isoformat()

    def now_iso() -> str:
        return clock.now.isoformat()

    def working_days_between(a: str, b: str) -> int:
        start, end = datetime.fromisoformat(a).date(), datetime.fromisoformat(b).date()
        days, step = 0, start
        while step < end:
            step += timedelta(days=1)
            if step.weekday() < 5:
                days += 1
        return days

    def item_due(item: dict, item_clock: dict) -> str:
        # The app's rule (server/rules/clock_law.py) on Mon–Fri: promised days from the start,
        # moved by the closed pauses.
        paused = sum(working_days_between(p["start"], p["end"])
                     for p in item_clock["pauses"] if p.get("end"))
        start = datetime.fromisoformat(item_clock["started_at"])
        return add_working_days(start, int(item["promised_days"]) + paused).isoformat()

    def item_warning(item: dict, item_clock: dict) -> str:
        due = datetime.fromisoformat(item_due(item, item_clock))
        day = due - timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        return max(day, min(clock.now + timedelta(hours=4), due)).isoformat()

    return TaskDataEnvironment(
        {
            "due_in_working_days": due_in_working_days,
            "due_in_minutes": due_in_minutes,
            "now_iso": now_iso,
            "working_days_between": working_days_between,
            "item_due": item_due,
            "item_warning": item_warning,
        }
    )


def parse_all(parser_class: type[CamundaParser] = CamundaParser) -> CamundaParser:
    parser = parser_class()
    parser.add_bpmn_files(sorted(str(p) for p in PROCESSES.glob("*.bpmn")))
    parser.add_dmn_files(sorted(str(p) for p in PROCESSES.glob("*.dmn")))
    return parser


class Case:
    """One running case of a diagram, stepped by BPMN element id."""

    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))

    def __init__(
        self,
        clock: Clock,
        process_id: str = MAIN_PROCESS,
        parser_class: type[CamundaParser] = CamundaParser,
    ) -> None:
        self.clock = clock
        self.engine = PythonScriptEngine(environment=make_environment(clock))
        parser = parse_all(parser_class)
        self.wf = BpmnWorkflow(
            parser.get_spec(process_id),
            parser.get_subprocess_specs(process_id),
            script_engine=self.engine,
        )

    def start(self, data: dict) -> None:
        self.wf.get_next_task(spec_name="Start").data.update(json.loads(json.dumps(data)))
        self.steps()

    def steps(self) -> None:
        # Timers need a refresh and a further pass once their time has come.
        for _ in range(5):
            self.wf.refresh_timers()
            self.wf.do_engine_steps()

    def ready(self) -> list:
        return self.wf.get_tasks(state=TaskState.READY, manual=True)

    def ready_ids(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.ready())

    def complete(self, bpmn_id: str, data: dict | None = None, which: int = 0):
        tasks = [t for t in self.ready() if t.task_spec.bpmn_id == bpmn_id]
        assert tasks, f"{bpmn_id} is not ready; ready: {self.ready_ids()}"
        task = tasks[which]
        task.data.update(data or {})
        task.run()
        self.steps()
        return task

    def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)
        self.steps()

    def send_message(self, name: str, payload: dict) -> None:
        event = BpmnEvent(
            MessageEventDefinition(name),
            payload={"payload": payload, "result_var": f"{name}_payload"},
        )
        self.wf.send_event(event)
        self.steps()

    def roundtrip(self) -> None:
        """Save and restore mid-run: the state must survive serialization."""
        state = self.serializer.serialize_json(self.wf)
        self.wf = self.serializer.deserialize_json(state)
        self.wf.script_engine = self.engine
        self.steps()

    def completed_ids(self) -> set[str]:
        return {
            t.task_spec.bpmn_id
            for t in self.wf.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.bpmn_id
        }


def install_fake_clock(clock: Clock, monkeypatch) -> None:
    """Make SpiffWorkflow's timers read the test clock (they call datetime.now directly)."""

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.now if tz is None else clock.now.astimezone(tz)

    monkeypatch.setattr(timer_module, "datetime", FakeDatetime)
