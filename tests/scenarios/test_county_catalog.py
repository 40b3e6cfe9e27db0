"""A county's own item catalog through the real process (issue 21): 大姚's administrator
uploads a catalog that drops 临时用地审批 and promises 地质灾害危险性评估 in 2 working days
instead of 5. 大姚's new case and its plan follow it, down to the department's deadline;
姚安's case (the other county) files, plans and is timed with the prefecture's catalog."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import Case, User
from server.services import plan
from server.services.calendar import case_county
from server.services.calendar_changes import load_notice
from server.services.case_state import live_data
from server.services.errors import ValidationFailedError
from tests.helpers.county_catalog import (
    DROPPED,
    SHORTER,
    catalog_events,
    dayao_csv,
    row_of,
    upload,
)
from tests.helpers.tenancy import A, make_counties
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web

BEIJING = ZoneInfo("Asia/Shanghai")


def items_of(walker: Walker) -> dict[str, int]:
    return {str(i["code"]): int(i["promised_days"]) for i in walker.data()["items"]}


def planned_ends(app: Flask, case_id: str) -> dict[str, str]:
    """The service plan's timetable for the case's items as it would open (倒排工期 from
    today): each item's planned end."""
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        data = live_data(case)
        rows = plan.timetable([i for i in data["items"]], None, case_county(case))
        db.session.remove()
    return {str(r["code"]): str(r["planned_end"]) for r in rows}


def test_dayao_files_plans_and_times_with_its_catalog_and_yaoan_with_the_prefectures(
        concierge_app: Flask, frozen_clock: FrozenClock) -> None:
    app = concierge_app
    make_counties(app)
    admin = Web(app)
    admin.login("admin")  # 大姚's administrator
    assert "继承州（市）目录" in row_of(admin.text("/admin/catalog"), A)
    saved = upload(admin, A, dayao_csv())
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    mine = row_of(admin.text("/admin/catalog"), A)
    assert "本县事项目录" in mine and re.search(r"<td>1</td>", mine)  # revision 1
    [event] = catalog_events(app)
    assert event.actor == "admin" and event.payload["county"] == A
    assert event.payload["dropped"] == [DROPPED] and event.payload["changed"] == [SHORTER]

    ours, theirs = Walker(app, frozen_clock), Walker(app, frozen_clock)
    # 大姚: the dropped item is refused by name (nothing filed), the shorter promise is kept.
    with pytest.raises(ValidationFailedError) as refused:
        ours.start("qiye", item_codes=[SHORTER, DROPPED])
    assert refused.value.errors == {"item_codes": [f"事项 {DROPPED} 不在事项目录中"]}
    ours.start("qiye", item_codes=[SHORTER])
    assert items_of(ours) == {SHORTER: 2}
    # 姚安: the prefecture's catalog, untouched.
    theirs.start("qiye_b", item_codes=[SHORTER, DROPPED])
    assert items_of(theirs) == {SHORTER: 5, DROPPED: 10}

    # The plan's timetable (Monday 2026-11-23): 2 working days in 大姚, 5 and 10 in 姚安.
    assert planned_ends(app, ours.case_id) == {SHORTER: "2026-11-25"}
    assert planned_ends(app, theirs.case_id) == {SHORTER: "2026-11-30",
                                                 DROPPED: "2026-12-07"}

    # 大姚's steward cannot plan the dropped item back in; 姚安's may add it.
    ours.accept()
    ours.do("zhuanchuang", "form_steward_team")
    with pytest.raises(ValidationFailedError) as no:
        ours.do("guanjia", "draft_service_plan", plan_item_codes=[SHORTER, DROPPED])
    assert no.value.errors == {"plan_item_codes": [f"事项 {DROPPED} 不在事项目录中"]}
    assert items_of(ours) == {SHORTER: 2}
    with app.app_context():
        other = db.session.get(Case, theirs.case_id)
        assert other is not None
        planned = plan.prepare_submission(other, plan.PLAN_FORM, live_data(other),
                                          {"plan_item_codes": [DROPPED, SHORTER]},
                                          actor="b_guanjia", role="steward")
        assert {i["code"]: i["promised_days"] for i in planned["items"]} == {
            DROPPED: 10, SHORTER: 5}
        db.session.rollback()
        db.session.remove()

    # 大姚's department is timed by 大姚's promise: due Wednesday, not the next Monday.
    ours.do("guanjia", "draft_service_plan")
    for element, user in (("agree_service_plan", "qiye"), ("hand_over_to_window", "zhaoshang"),
                          ("sign_entrustment_agreement", "zhuanchuang"),
                          ("issue_one_time_notice", "zhuanchuang"),
                          ("issue_task_sheets", "zhuanchuang")):
        ours.do(user, element)
    ours.do("zrzy", "take_task_sheet")
    ours.do("zrzy", "review_item_materials", acceptance_mode="accepted")
    [handling] = ours.ready("handle_item")
    due: Any = handling["due_at"]
    assert isinstance(due, datetime)
    assert due.astimezone(BEIJING).date().isoformat() == "2026-11-25"
    assert handling["item_code"] == SHORTER


def test_the_plans_timetable_counts_with_the_cases_county_calendar(
        concierge_app: Flask, frozen_clock: FrozenClock) -> None:
    """大姚's local day off (a prefecture notice's 火把节-like day) moves 大姚's planned ends a
    working day later; 姚安's plan, same items, same day, does not move."""
    app = concierge_app
    make_counties(app)
    ours, theirs = Walker(app, frozen_clock), Walker(app, frozen_clock)
    ours.start("qiye", item_codes=[SHORTER])
    theirs.start("qiye_b", item_codes=[SHORTER])
    assert planned_ends(app, ours.case_id) == planned_ends(app, theirs.case_id) == {
        SHORTER: "2026-11-30"}
    with app.app_context():
        admin = db.session.execute(db.select(User).where(User.username == "admin")).scalar_one()
        load_notice(admin, "2026-11-25 holiday 大姚县测试假日", county=A)
        db.session.remove()
    assert planned_ends(app, ours.case_id) == {SHORTER: "2026-12-01"}
    assert planned_ends(app, theirs.case_id) == {SHORTER: "2026-11-30"}
