"""What the database holds for a case, kept in memory, and what a restore must reproduce.

``RowStore.apply`` writes a step's rows exactly as ``server/services/store.py`` does (the
envelope replaced, the rows of ended subprocesses and deleted tasks dropped, changed rows
upserted); ``snapshot`` is what people and the engine would notice of a live case.
"""

from __future__ import annotations

from typing import Any

from server.engine.runtime import Engine, Runtime, StepResult

#: SpiffWorkflow's COMPLETED and CANCELLED task states, as the serialization writes them.
FINISHED = (64, 256)


class RowStore:
    """The envelope plus one row per task, as ``engine_tasks`` holds them."""

    def __init__(self) -> None:
        self.envelope = "{}"
        self.rows: dict[str, tuple[str, str, str]] = {}

    def apply(self, result: StepResult) -> None:
        self.envelope = result.envelope
        gone = set(result.deleted_workflows)
        self.rows = {k: v for k, v in self.rows.items()
                     if v[1] not in gone and k[2:] not in gone}
        for row_id in result.deletes:
            self.rows.pop(row_id, None)
        for row_id, workflow, body in result.upserts:
            self.rows[row_id] = (row_id, workflow, body)


def snapshot(engine: Engine, runtime: Runtime) -> dict[str, Any]:
    """Ready tasks with their people, deadlines and data; every task's state; timers; the end."""
    ready = sorted((t.id, t.element_id, tuple(t.candidate_groups), str(t.due_at),
                    repr(sorted(t.data.items()))) for t in engine.ready_human_tasks(runtime))
    state = engine.full_state(runtime)
    tasks = {tid: (t["state"], t["task_spec"], sorted(t["children"]))
             for tid, t in state["tasks"].items()}
    # A finished subprocess may stay in the live workflow while its parent task is gone (the
    # call activities inside a cancelled ``deliver_service``); nothing can run or show in it,
    # and a restore leaves it out. Only subprocesses with work left are compared.
    subs = {sid: {tid: (t["state"], t["task_spec"]) for tid, t in sp["tasks"].items()}
            for sid, sp in state["subprocesses"].items()
            if any(t["state"] not in FINISHED for t in sp["tasks"].values())}
    timers = sorted((t.task_id, t.due_at) for t in engine.waiting_timers(runtime))
    return {"ready": ready, "tasks": tasks, "subs": subs, "timers": timers,
            "completed": runtime.workflow.completed,
            "data": repr(sorted(engine.case_data(runtime).items()))}
