"""Issue 17 (part A): after-care of a completed case under the exit mechanism of seed 002
§三(四) — 开工 within 3 months, 投产 2 years, 见效 3 years — warned, supervised when missed, and
listed for the half-yearly land review; on the controllable clock the timer tests use."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Case, User
from server.models.aftercare import AftercareProject, SupervisionTask
from server.services import aftercare, ledger
from server.services.errors import PermissionDeniedError, ValidationFailedError
from tests.conftest import table_counts
from tests.helpers.aftercare import _complete
from tests.helpers.notices import inbox_of
from tests.scenarios.conftest import Walker


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()




def _project(walker: Walker) -> dict[str, Any]:
    def go() -> dict[str, Any]:
        row = db.session.execute(select(AftercareProject).where(
            AftercareProject.case_id == walker.case_id)).scalar_one()
        return {"id": row.id, "completed_on": row.completed_on, "leader": row.leader,
                "steward": row.steward, "promised": row.promised_investment_wan,
                "milestones": {m.kind: (m.due_on, m.warned_at is not None,
                                        m.missed_at is not None, m.reached_on)
                               for m in row.milestones}}
    return walker.run(go)  # type: ignore[no-any-return]


def _notices(walker: Walker, username: str) -> list[tuple[str, str]]:
    return walker.run(lambda: [(n.kind, n.title) for n in inbox_of(username)
                               if n.kind in {"warning", "overdue"}
                               and (n.dedupe_key or "").startswith("aftercare:")])


def _sweep(walker: Walker, **delta: float) -> aftercare.SweepResult:
    walker.clock.advance(timedelta(**delta))
    return walker.run(aftercare.sweep_milestones)  # type: ignore[no-any-return]


def test_a_completed_project_not_started_after_three_months_is_warned_supervised_and_listed(
        walker: Walker) -> None:
    _complete(walker)
    walker.run(ledger.checkpoint_if_new_events)  # the archive's checkpoint seals the case
    assert _sweep(walker, hours=1) == aftercare.SweepResult(1, 0, 0)
    project = _project(walker)
    done = project["completed_on"]
    assert project["leader"] == "lingdao" and project["steward"] == "guanjia"
    assert project["promised"] == 80000
    # The seed's numbers as the default county setting: 3 months, 2 years, 3 years.
    assert {k: v[0] for k, v in project["milestones"].items()} == {
        "start_work": aftercare.add_months(done, 3),
        "production": aftercare.add_months(done, 24),
        "effect": aftercare.add_months(done, 36)}
    assert _sweep(walker, hours=1) == aftercare.SweepResult(0, 0, 0)  # idempotent

    # 15 days before 开工 is due: one warning to the steward and the leader, once.
    due = project["milestones"]["start_work"][0]
    to_warning = (due - timedelta(days=15) - done).days
    assert _sweep(walker, days=to_warning) == aftercare.SweepResult(0, 1, 0)
    assert _sweep(walker, days=1) == aftercare.SweepResult(0, 0, 0)
    assert [k for k, _ in _notices(walker, "guanjia")] == ["warning"]
    assert _notices(walker, "lingdao")[0][1].startswith("预警：")

    # The day after the due date with no 开工 recorded: a supervision task for the leader.
    assert _sweep(walker, days=16) == aftercare.SweepResult(0, 0, 1)
    assert _sweep(walker, days=1) == aftercare.SweepResult(0, 0, 0)
    assert [k for k, _ in _notices(walker, "lingdao")] == ["warning", "overdue"]
    tasks = walker.run(lambda: [(t.assignee, t.closed_at) for t in
                                aftercare.supervision_tasks(_user("lingdao"))])
    assert tasks == [("lingdao", None)]
    assert walker.run(lambda: aftercare.supervision_tasks(_user("lingdao2"))) == []
    assert _project(walker)["milestones"]["start_work"][2] is True

    # The half-yearly land review lists it, and its .xlsx says so.
    half = aftercare.half_of(due)
    rows = walker.run(lambda: aftercare.land_review(_user("lingdao"), half))
    assert [(r.reference, r.milestone, r.due_on) for r in rows] == [
        (walker.case()["reference"], "start_work", due)]
    assert rows[0].days_late > 0 and rows[0].area == "金碧镇"
    data = walker.run(lambda: aftercare.land_review_xlsx(_user("juzhang"), half,
                                                        {"lingdao": "领导"}))
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    flat = [str(c) for row in cells for c in row]
    assert any("土地清理" in c for c in flat)
    assert walker.case()["reference"] in flat and "开工" in flat and "领导" in flat

    # The audit: case-less events with the case's id, the sealed case chain untouched.
    def audit() -> tuple[list[str], int]:
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.type.like("aftercare_%")).order_by(AuditEvent.seq)).scalars().all()
        assert all(e.case_id is None and e.payload["case_id"] == walker.case_id for e in events)
        after = db.session.execute(select(AuditEvent).where(
            AuditEvent.case_id == walker.case_id,
            AuditEvent.type.like("aftercare_%"))).scalars().all()
        return [e.type for e in events], len(after)
    assert walker.run(audit) == (["aftercare_started", "aftercare_milestone_warned",
                                  "aftercare_milestone_missed"], 0)
    walker.run(ledger.checkpoint_if_new_events)
    assert walker.run(ledger.verify) == []  # the sealed case's chain still verifies

    # The leader closes the task with an opinion; another leader may not.
    task_id = walker.run(lambda: aftercare.supervision_tasks(_user("lingdao"))[0].id)
    with pytest.raises(PermissionDeniedError):
        walker.run(lambda: aftercare.close_supervision(_user("lingdao2"), task_id, "收回土地"))
    walker.run(lambda: aftercare.close_supervision(_user("lingdao"), task_id, "限期一个月整改"))
    assert walker.run(lambda: db.session.get(SupervisionTask, task_id).opinion) == "限期一个月整改"


def test_progress_before_completion_is_refused_and_recorded_progress_stops_the_warning(
        walker: Walker) -> None:
    _complete(walker)
    _sweep(walker, hours=1)
    project = _project(walker)
    done: date = project["completed_on"]
    before = table_counts(walker.app)
    for bad, field in (({"happened_on": (done - timedelta(days=1)).isoformat()}, "happened_on"),
                       ({"milestone": "finished"}, "milestone"),
                       ({"invested_wan": "-1"}, "invested_wan"),
                       ({"happened_on": "2026-13-01"}, "happened_on")):
        args = {"milestone": "start_work", "happened_on": done.isoformat(), **bad}
        with pytest.raises(ValidationFailedError) as refused:
            walker.run(lambda a=args: aftercare.record_progress(_user("guanjia"), project["id"],
                                                                **a))
        assert field in refused.value.errors
    for who in ("qiye", "fgj", "lingdao"):
        with pytest.raises(PermissionDeniedError):
            walker.run(lambda w=who: aftercare.record_progress(
                _user(w), project["id"], milestone="start_work", happened_on=done.isoformat()))
    with pytest.raises(PermissionDeniedError):
        walker.run(lambda: aftercare.land_review(_user("guanjia"), "2027-H1"))
    with pytest.raises(ValidationFailedError):
        walker.run(lambda: aftercare.land_review(_user("lingdao"), "2027-H3"))
    assert table_counts(walker.app) == before

    walker.clock.advance(timedelta(days=20))
    walker.run(lambda: aftercare.record_progress(
        _user("guanjia"), project["id"], milestone="start_work",
        happened_on=(done + timedelta(days=20)).isoformat(), invested_wan="5000",
        note="桩基开工"))
    # Past the 开工 date: nothing warned or missed for 开工, and not on the land review.
    assert _sweep(walker, days=90) == aftercare.SweepResult(0, 0, 0)
    assert _project(walker)["milestones"]["start_work"][1:] == (
        False, False, done + timedelta(days=20))
    half = aftercare.half_of(done + timedelta(days=110))
    assert walker.run(lambda: aftercare.land_review(_user("lingdao"), half)) == []


def test_a_terminated_case_gets_no_after_care_and_a_county_sets_its_own_months(
        walker: Walker) -> None:
    walker.start(item_codes=["project_filing"])
    walker.accept()
    walker.hand_over()
    walker.terminate(detail="企业调整投资计划")
    walker.do("guanjia", "fill_termination_sheet")
    walker.do("qiye", "sign_termination_sheet")
    walker.close()
    assert walker.case()["status"] == "terminated"
    assert walker.run(lambda: aftercare.sweep_milestones()) == aftercare.SweepResult(0, 0, 0)
    assert walker.run(lambda: db.session.execute(select(AftercareProject)).all()) == []

    before = table_counts(walker.app)
    with pytest.raises(PermissionDeniedError):
        walker.run(lambda: aftercare.save_settings(_user("lingdao"), "", {
            "start_work_months": 6, "production_months": 24, "effect_months": 36,
            "warn_days": 15}))
    with pytest.raises(ValidationFailedError) as bad:
        walker.run(lambda: aftercare.save_settings(_user("admin"), "", {
            "start_work_months": 0, "production_months": 24, "effect_months": 36,
            "warn_days": 15}))
    assert list(bad.value.errors) == ["start_work_months"]
    assert table_counts(walker.app) == before
    walker.run(lambda: aftercare.save_settings(_user("admin"), "", {
        "start_work_months": 6, "production_months": 18, "effect_months": 30,
        "warn_days": 10}))
    walker.case_id = ""
    _complete(walker)
    walker.run(lambda: aftercare.sweep_milestones())
    project = _project(walker)
    done = project["completed_on"]
    assert project["milestones"]["start_work"][0] == aftercare.add_months(done, 6)
    assert project["milestones"]["production"][0] == aftercare.add_months(done, 18)
    assert walker.run(lambda: db.session.get(Case, walker.case_id).status) == "completed"


def test_beat_sends_the_daily_sweep_and_the_worker_task_runs_it(make_app: Any,
                                                                frozen_clock: Any) -> None:
    from tests.scenarios.conftest import ROOT
    from workers.dispatch import celery_of
    from workers.schedule import beat_schedule
    from workers.settings import WorkerSettings

    app = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                   GUANJIA_FORMS_DIR=str(ROOT / "forms"), GUANJIA_CELERY_EAGER="1")
    entry = beat_schedule(WorkerSettings.from_env({}))["sweep-aftercare-milestones"]
    task = celery_of(app).tasks[entry["task"]]
    walker = Walker(app, frozen_clock)
    _complete(walker)
    with app.app_context():
        assert task.apply().get() == {"started": 1, "warned": 0, "missed": 0}
        assert task.apply().get() == {"started": 0, "warned": 0, "missed": 0}
        db.session.remove()
    assert _project(walker)["leader"] == "lingdao"
