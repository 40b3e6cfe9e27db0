"""A locked step's engine rows: written with the case's row when the step ends (on PostgreSQL
in the same statement), the last of several saves in one lock winning, nothing on failure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.engine.runtime import StepResult
from server.extensions import db
from server.models import EngineTask
from server.services.store import case_store
from tests.conftest import Api
from tests.helpers.api_cases import start
from tests.helpers.statements import statements


def _rows(case_id: str) -> dict[str, tuple[str, str]]:
    return {r.id: (r.workflow, r.body) for r in db.session.execute(
        sa.select(EngineTask.id, EngineTask.workflow, EngineTask.body)
        .where(EngineTask.case_id == case_id)).all()}


def _step(envelope: str, *, upserts: list[tuple[str, str, str]] | None = None,
          deletes: list[str] | None = None) -> StepResult:
    return StepResult(envelope=envelope, upserts=upserts or [], deletes=deletes or [],
                      deleted_human=[], deleted_workflows=[], human=[], timers=[],
                      timers_gone=[], events=[], completed=False, data={})


#: A body as the engine writes them: JSON with quotes, backslashes, line breaks and Chinese.
BODY = '{"n":2,"text":"他说\\"好\\"\\\\ 第二行\\n","path":"C:\\\\x"}'


def test_the_last_save_of_a_locked_step_is_what_the_rows_hold(api: Api) -> None:
    case_id = start(api)["id"]
    with api.app.app_context():
        before = _rows(case_id)
        kept = sorted(before)[0]
        store = case_store()
        with store.locked(case_id) as live:
            envelope = live.case.envelope
            # Two saves in one lock (a step, then its timers aligned and saved again): a row
            # the first wrote and the second removed is not stored, one both wrote holds the
            # second's body, and a stored row the second removed is gone.
            store.save(live.case, _step(envelope, upserts=[
                ("x-first", "top", '{"n":1}'), ("x-both", "top", '{"n":1}')]))
            store.save(live.case, _step(envelope, deletes=["x-first", kept], upserts=[
                ("x-both", "top", BODY)]))
        rows = _rows(case_id)
        db.session.commit()
    assert "x-first" not in rows and kept not in rows
    assert rows["x-both"] == ("top", BODY)
    assert {k: v for k, v in rows.items() if k != "x-both"} == {
        k: v for k, v in before.items() if k != kept}


def test_a_failed_step_stores_none_of_its_rows(api: Api) -> None:
    case_id = start(api)["id"]
    with api.app.app_context():
        before = _rows(case_id)
        db.session.commit()
        store = case_store()
        with pytest.raises(RuntimeError), store.locked(case_id) as live:
            store.save(live.case, _step(live.case.envelope, deletes=sorted(before),
                                        upserts=[("x-new", "top", "{}")]))
            raise RuntimeError("the step fails after saving")
        assert _rows(case_id) == before
        db.session.commit()


@pytest.mark.postgres_only
def test_on_postgresql_a_step_writes_its_engine_rows_in_the_case_update(api: Api) -> None:
    start(api)
    review = api.tasks("zhaoshang")[0]
    with statements(api.app) as seen:
        done = api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                        json={"data": {"approved": True}})
    assert done.status_code == 200, done.json
    engine_rows = [s for s in seen if "engine_tasks" in s]
    assert len(engine_rows) == 1, engine_rows
    assert "insert into engine_tasks" in engine_rows[0]
    assert "update cases set" in engine_rows[0]
