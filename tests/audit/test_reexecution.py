"""Re-execution is exact: every honest path of the concierge process re-executes as "same"
(termination, 补正, timers, rejection, migration), and a stored state changed behind the
history's back does not; replaying leaves everyone else's clock alone."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from server.engine import clock
from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import Case, User
from server.services import replay
from server.services.termination import decide_termination, propose_termination
from tests.audit.walk import ensure_audit_pages, walk_case
from tests.conftest import Api
from tests.helpers.reexecution import assert_same, reexecute
from tests.helpers.tamper import tampering
from tests.scenarios.conftest import Walker

# Rows are changed behind the app's back on a connection of its own (as an intruder
# would): the test's rows must be committed for it to see them.
pytestmark = pytest.mark.real_commits


ROOT = Path(__file__).resolve().parents[2]






def terminate(walker: Walker, username: str, reason: str) -> None:
    def go() -> None:
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        propose_termination(user, walker.case_id, "enterprise_request", reason)
    walker.run(go)
    # The responsible leader decides (004 §五(八); issue 13).
    walker.run(lambda: decide_termination(db.session.execute(
        select(User).where(User.username == "lingdao")).scalar_one(), walker.case_id,
        approve=True, note=""))


def test_a_terminated_case_reexecutes_as_same(walker: Walker) -> None:
    walker.start(item_codes=["project_filing", "land_pre_review"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    walker.do("fgj", "review_item_materials")
    terminate(walker, "qiye", "企业调整投资计划，主动申请终止")
    walker.do("guanjia", "fill_termination_sheet")
    walker.do("qiye", "sign_termination_sheet")
    walker.close()
    assert walker.case()["status"] == "terminated"
    result = assert_same(walker.app, walker.case_id)
    assert ("task_created", "fill_termination_sheet") in result.replayed


def test_a_rejected_case_reexecutes_as_same(walker: Walker) -> None:
    walker.start(item_codes=["project_filing"])
    walker.do("zhaoshang", "review_application", review_decision="reject",
              review_opinion="项目尚未签约")
    walker.do("zhaoshang", "notify_rejection", rejection_reason="项目尚未签约")
    assert walker.case()["status"] == "rejected"
    assert_same(walker.app, walker.case_id)


def test_a_case_with_a_supplement_pause_reexecutes_as_same(walker: Walker) -> None:
    walker.start(item_codes=["project_filing"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    walker.advance(hours=1)
    walker.do("fgj", "review_item_materials", acceptance_mode="supplement",
              supplement_request="缺项目符合产业政策的声明")
    walker.advance(days=3)
    walker.do("qiye", "supply_materials")
    walker.do("fgj", "review_item_materials")
    walker.do("fgj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    walker.close()
    assert walker.case()["status"] == "completed"
    assert walker.events("clock_paused") and walker.events("clock_resumed")
    assert_same(walker.app, walker.case_id)


def test_a_timer_escalated_case_reexecutes_as_same(walker: Walker) -> None:
    walker.start(item_codes=["project_filing", "temporary_land_use"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    # 30 office minutes, then the county's grace (30 more by default): the steward urges.
    walker.advance(minutes=31)
    # A step between the 30 minutes and the grace: the moved timer must not fire in it.
    walker.do("fgj", "review_item_materials")
    walker.advance(minutes=30)
    walker.do("guanjia", "urge_department_report")
    walker.do("zrzy", "take_task_sheet")
    assert [e["element_id"] for e in walker.events("timer_fired")] == ["report_timeout"]
    assert walker.events("timer_rescheduled")  # the call's timer moved by office minutes
    result = assert_same(walker.app, walker.case_id)
    assert ("task_created", "urge_department_report") in result.replayed


def test_a_migrated_case_reexecutes_each_segment_on_its_version(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    from server.services import processes
    from server.services.migration import migrate_cases

    app = make_app()
    ensure_audit_pages(app)
    api = Api(app, app.test_client())
    walk = walk_case(api, frozen_clock, 2, finish=False)
    bpmn = (ROOT / "tests/fixtures/processes/parallel_items.bpmn").read_text(encoding="utf-8")
    with app.app_context():
        renamed = bpmn.replace('name="办结"', 'name="办结归档"')
        v2 = processes.deploy({"parallel_items.bpmn": renamed}, author="sheji", comment="v2")
        sheji = db.session.execute(select(User).where(User.username == "sheji")).scalar_one()
        [outcome] = migrate_cases(sheji, [walk.case_id], v2.number)
        assert outcome.moved, outcome.blockers
        number = v2.number
        db.session.remove()
    # Finish on the new version.
    for user in ("fgj", "zrzy"):
        for element, data in (("take_sheet", {"receiver": user}),
                              ("handle_item", {"outcome": "approved"}),
                              ("report_result", {})):
            for task in [t for t in api.tasks(user, case_id=walk.case_id)
                         if t["element_id"] == element]:
                assert api.post(f"/tasks/{task['id']}/complete", user,
                                json={"data": data}).status_code == 200
    for user, element, data in (("guanjia", "urge_department", {"urge_note": "请尽快"}),
                                ("zhuanchuang", "close_case", {"closing_note": "办结"})):
        for task in [t for t in api.tasks(user, case_id=walk.case_id)
                     if t["element_id"] == element]:
            assert api.post(f"/tasks/{task['id']}/complete", user,
                            json={"data": data}).status_code == 200
    with app.app_context():
        case = db.session.get(Case, walk.case_id)
        assert case is not None and case.status == "completed"
        assert case.deployment.number == number
        db.session.remove()
    assert_same(app, walk.case_id)


def test_a_case_whose_stored_data_was_changed_does_not_reexecute_as_same(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 1)
    assert_same(api.app, walk.case_id)
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE cases SET status = 'rejected' WHERE id = :c"),
                     {"c": walk.case_id})
    result = reexecute(api.app, walk.case_id)
    assert not result.ok
    assert "the case is stored as rejected, the inputs end it as completed" in result.detail

    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE cases SET status = 'completed', summary = :s "
                             "WHERE id = :c"),
                     {"s": '{"project_name": "另一个项目"}', "c": walk.case_id})
    result = reexecute(api.app, walk.case_id)
    assert not result.ok and "stored summary differs" in result.detail, result.detail


def test_a_case_whose_engine_state_was_changed_does_not_reexecute_as_same(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 1, finish=False)
    with api.app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT id, body FROM engine_tasks WHERE case_id = :c"), {"c": walk.case_id}).all()
        db.session.remove()
    changed = 0
    with tampering(api.app) as conn:
        for row_id, body in rows:
            if '"approved":true' in body:
                conn.execute(sa.text("UPDATE engine_tasks SET body = :b WHERE id = :i"),
                             {"b": body.replace('"approved":true', '"approved":false'),
                              "i": row_id})
                changed += 1
    assert changed
    result = reexecute(api.app, walk.case_id)
    assert not result.ok
    assert "data 'approved' is stored as false, the inputs give true" in result.detail


def test_two_concurrent_replays_leave_everyone_elses_clock_alone(
        api: Api, frozen_clock: FrozenClock) -> None:
    first = walk_case(api, frozen_clock, 1)
    second = walk_case(api, frozen_clock, 2)
    here = frozen_clock.now()
    results: dict[str, replay.Reexecution] = {}
    seen_meanwhile: list[datetime] = []
    go = threading.Barrier(3)

    def run(case_id: str) -> None:
        go.wait()
        results[case_id] = reexecute(api.app, case_id)

    threads = [threading.Thread(target=run, args=(c,)) for c in (first.case_id, second.case_id)]
    for t in threads:
        t.start()
    go.wait()
    while any(t.is_alive() for t in threads):
        seen_meanwhile.append(clock.now())
    for t in threads:
        t.join()
    assert all(r.ok for r in results.values()), {k: r.detail for k, r in results.items()}
    # This thread saw its own clock throughout, and the process clock is still the test's.
    assert set(seen_meanwhile) <= {here}
    assert clock.active() is frozen_clock and clock.now() == here


def _finish_item(walker: Walker) -> None:
    walker.do("sthj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    walker.close()


def test_a_case_with_an_art_45_pause_reexecutes_as_same(walker: Walker) -> None:
    from server.services.clock_pauses import end_pause, start_pause
    from tests.helpers.lawful_clock import act, to_handling

    handling = to_handling(walker)
    walker.advance(days=2)
    act(walker, start_pause, "sthj", handling["id"], kind="expert_review",
        reason="组织专家评审环评报告表", cap_days=10)
    walker.advance(days=7)
    act(walker, end_pause, "sthj", handling["id"])
    _finish_item(walker)
    assert walker.case()["status"] == "completed"
    [result] = walker.data()["item_results"]
    assert result["pauses"] and result["pauses"][0]["kind"] == "expert_review"
    assert_same(walker.app, walker.case_id)


def test_a_case_referred_upward_and_back_reexecutes_as_same(walker: Walker) -> None:
    from server.services.clock_pauses import refer_upward, return_from_referral
    from tests.helpers.lawful_clock import act, to_handling

    handling = to_handling(walker, promised_days=3)
    walker.advance(days=1)
    act(walker, refer_upward, "sthj", handling["id"], level="prefecture",
        reason="报楚雄州生态环境局审批")
    walker.advance(days=60)
    act(walker, return_from_referral, "sthj", handling["id"], outcome="州局已批复")
    _finish_item(walker)
    assert walker.case()["status"] == "completed"
    assert_same(walker.app, walker.case_id)


def test_a_case_handed_up_to_the_prefecture_and_back_reexecutes_as_same(
        walker: Walker) -> None:
    from server.services import handups
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_user
    from tests.conftest import PASSWORD
    from tests.helpers.lawful_clock import act, to_handling

    def prefecture_department() -> None:
        ensure_standard_groups()
        ensure_user("zhou_sthj", "州生态环境局", PASSWORD, ["pref_dept_sthj"], county=None)
        db.session.commit()
    walker.run(prefecture_department)
    handling = to_handling(walker, promised_days=3, level="prefecture", statutory_days=60,
                           limit_kind="calendar")
    walker.advance(days=1)
    handup = act(walker, handups.hand_up, "sthj", handling["id"], note="初审同意").id
    walker.advance(days=2)
    act(walker, lambda user, _: handups.accept(user, handup), "zhou_sthj", "")
    walker.advance(days=30)
    act(walker, lambda user, _: handups.decide(user, handup, decision="approve",
                                               approval_number="楚环审〔2026〕1号", reason=""),
        "zhou_sthj", "")
    _finish_item(walker)
    assert walker.case()["status"] == "completed"
    assert_same(walker.app, walker.case_id)
