"""Periodic return visits (定期回访, issue 13; seed 004 §五(九)): after a completed case ends,
visits are scheduled at the county's months (default 1, 3, 6, 12), each opens as the lead
steward's task before its date, turns red when late (the steward and leader are alerted), and
is recorded by the steward only; the events, written after ``case_ended``, keep the chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import County, ReturnVisit, User
from server.services import return_visits
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from tests.conftest import table_counts
from tests.helpers.notices import inbox_of
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web

RECORD = {"method": "meeting", "visited_on": "", "findings": "企业已投产，运行正常",
          "enterprise_remarks": "希望继续协调用电报装"}


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _visits(walker: Walker) -> list[dict[str, object]]:
    return walker.run(lambda: [  # type: ignore[no-any-return]
        {"id": v.id, "months": v.months_after, "state": v.state, "assignee": v.assignee,
         "due_at": v.due_at}
        for v in db.session.execute(select(ReturnVisit).where(
            ReturnVisit.case_id == walker.case_id).order_by(ReturnVisit.due_at)).scalars()])


def _notices(walker: Walker, username: str) -> list[str]:
    return walker.run(lambda: [n.title for n in inbox_of(username)  # type: ignore[no-any-return]
                               if n.case_id == walker.case_id and "回访" in n.title])


def _completed_case(walker: Walker) -> None:
    walker.start()
    walker.accept()
    walker.hand_over()
    walker.work_open_items()
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    walker.close()
    assert walker.case()["status"] == "completed"


def test_visits_appear_on_the_countys_schedule_and_the_steward_records_them(
        walker: Walker) -> None:
    _completed_case(walker)
    ended = walker.case()["ended_at"]
    walker.run(return_visits.sweep)
    visits = _visits(walker)
    assert [v["months"] for v in visits] == [1, 3, 6, 12]
    assert {v["assignee"] for v in visits} == {"guanjia"}        # the lead steward
    assert visits[0]["due_at"] == return_visits.add_months(ended, 1)
    assert [v["state"] for v in visits] == ["scheduled"] * 4
    assert _notices(walker, "guanjia") == []

    # Ten days before the first month is out, the first visit opens as the steward's task.
    walker.clock.set(visits[0]["due_at"] - timedelta(days=return_visits.OPEN_DAYS_BEFORE))
    walker.run(return_visits.sweep)
    assert [v["state"] for v in _visits(walker)] == ["open", "scheduled", "scheduled",
                                                     "scheduled"]
    [opened] = _notices(walker, "guanjia")
    assert opened.startswith("定期回访：") and "办结后第1个月" in opened

    # Not recorded by its date: red, the steward and the leader are told once.
    walker.clock.set(visits[0]["due_at"] + timedelta(days=2))
    walker.run(return_visits.sweep)
    walker.run(return_visits.sweep)
    assert sum("回访超期" in n for n in _notices(walker, "guanjia")) == 1
    assert sum("回访超期" in n for n in _notices(walker, "lingdao")) == 1
    light = walker.run(lambda: return_visits.light_of(
        db.session.get(ReturnVisit, visits[0]["id"])))
    assert light == "red"

    first = str(visits[0]["id"])
    day = walker.clock.now().date().isoformat()
    # Only the lead steward records it; a wrong record changes nothing.
    for other in ("guanjia2", "zhuanchuang", "qiye"):
        with pytest.raises(PermissionDeniedError):
            walker.run(lambda o=other: return_visits.record_visit(
                _user(o), first, {**RECORD, "visited_on": day}))
    with pytest.raises(ValidationFailedError) as bad:
        walker.run(lambda: return_visits.record_visit(
            _user("guanjia"), first, {**RECORD, "method": "letter", "visited_on": ""}))
    assert set(bad.value.errors) == {"method", "visited_on"}
    assert _visits(walker)[0]["state"] == "open"
    # A visit not yet open cannot be recorded in advance.
    with pytest.raises(ConflictError):
        walker.run(lambda: return_visits.record_visit(
            _user("guanjia"), str(visits[1]["id"]), {**RECORD, "visited_on": day}))

    walker.run(lambda: return_visits.record_visit(_user("guanjia"), first,
                                                  {**RECORD, "visited_on": day}))
    assert _visits(walker)[0]["state"] == "done"
    [recorded] = walker.events("return_visit_recorded")
    assert recorded["payload"]["method"] == "meeting"
    assert recorded["payload"]["enterprise_remarks"] == "希望继续协调用电报装"
    # Written after case_ended, the visit events are allowed there: the chain check is clean.
    from server.services.chain_checks import AFTER_SEAL
    assert {"return_visits_scheduled", "return_visit_opened",
            "return_visit_recorded"} <= AFTER_SEAL
    ended_seq = [e["type"] for e in walker.events()].index("case_ended")
    assert {e["type"] for e in walker.events()[ended_seq + 1:]} <= AFTER_SEAL


def test_the_schedule_is_the_countys_setting(walker: Walker) -> None:
    def county() -> None:
        db.session.add(County(code="dayao", name="大姚县", prefecture="楚雄彝族自治州",
                              office_hours="09:00-12:00 14:30-18:00", is_default=True,
                              return_visit_months="2，24"))
        db.session.commit()
    walker.run(county)
    _completed_case(walker)
    walker.run(return_visits.sweep)
    assert [v["months"] for v in _visits(walker)] == [2, 24]


def test_the_case_page_shows_the_visits_and_takes_the_stewards_record(
        concierge_app: Flask, walker: Walker) -> None:
    _completed_case(walker)
    walker.run(return_visits.sweep)
    first = _visits(walker)[0]
    walker.clock.set(first["due_at"] - timedelta(days=1))   # type: ignore[operator]
    walker.run(return_visits.sweep)
    page = f"/cases/{walker.case_id}"
    action = f"{page}/return-visits/{first['id']}"
    steward = Web(concierge_app)
    steward.login("guanjia")
    shown = steward.text(page)
    assert "定期回访" in shown and "本县设置" in shown and action in shown
    window = Web(concierge_app)
    window.login("zhuanchuang")
    assert action not in window.text(page)
    before = table_counts(concierge_app)
    day = walker.clock.now().date().isoformat()
    assert window.post(action, {**RECORD, "visited_on": day}, token_from=page
                       ).status_code == 403
    refused = steward.post(action, {**RECORD, "findings": "", "visited_on": day},
                           token_from=page)
    assert refused.status_code == 422 and "请填写回访情况" in refused.get_data(as_text=True)
    assert table_counts(concierge_app) == before
    assert steward.post(action, {**RECORD, "visited_on": day}, token_from=page
                        ).status_code == 302
    assert "企业已投产，运行正常" in steward.text(page)


def test_an_administrator_sets_the_countys_visit_months_and_a_bad_list_changes_nothing(
        walker: Walker) -> None:
    from server.services.counties import DAYAO, save_county

    walker.run(lambda: save_county(_user("admin"), {**DAYAO, "is_default": "1",
                                                    "return_visit_months": "24， 2,6"}))
    assert walker.run(lambda: return_visits.schedule_of("dayao")) == (2, 6, 24)
    for bad in ("0,3", "3,半年", "121"):
        with pytest.raises(ValidationFailedError) as caught:
            walker.run(lambda bad=bad: save_county(  # type: ignore[misc]
                _user("admin"), {**DAYAO, "is_default": "1", "return_visit_months": bad}))
        assert "return_visit_months" in caught.value.errors
    assert walker.run(lambda: return_visits.schedule_of("dayao")) == (2, 6, 24)
    with pytest.raises(PermissionDeniedError):
        walker.run(lambda: save_county(_user("guanjia"), {**DAYAO, "return_visit_months": "1"}))
