"""The whole project (issue 11): 项目代码 validated, the 160-day clock of a private 房建 project
from the recorded land contract date, and a stage bar that moves as items finish."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from server.extensions import db
from server.models import User
from server.services.errors import ValidationFailedError
from tests.conftest import table_counts
from tests.scenarios.conftest import APPLICATION, PROCESS, Walker
from tests.web.helpers import Web

PROJECT = {"project_code": "2026-532326-04-01-123456", "ownership": "private",
           "project_type": "building", "land_contract_signed_on": "2026-10-24"}
ITEMS = ["project_filing", "land_use_planning_permit", "construction_planning_permit",
         "construction_permit"]


def _number(html: str, css: str) -> int:
    found = re.search(rf'class="{css}">(\d+)<', html)
    assert found, css
    return int(found.group(1))


def _stages(html: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(
        r'<li class="stage (\w+)" data-stage="([^"]+)">', html)}


def test_a_private_building_project_runs_its_160_day_clock_and_its_stage_bar_moves(
        walker: Walker, concierge_app: Flask) -> None:
    walker.start(item_codes=ITEMS, **PROJECT)
    walker.accept()
    walker.hand_over()
    steward = Web(concierge_app)
    steward.login("guanjia")
    page = f"/cases/{walker.case_id}"
    html = steward.text(page)
    assert "2026-532326-04-01-123456" in html and "房屋建筑" in html and "民营" in html
    # From 2026-10-24 to today (2026-11-23): 30 of 160 calendar days used.
    assert (_number(html, "target-days"), _number(html, "used-days"),
            _number(html, "left-days")) == (160, 30, 130)
    assert '<div class="project-clock">\n  <span class="light green">' in html
    assert _stages(html) == {"立项用地规划许可": "todo", "工程建设许可": "todo",
                             "施工许可": "todo", "竣工验收": "none"}
    walker.work_open_items()  # 备案
    assert _stages(steward.text(page))["立项用地规划许可"] == "active"
    walker.work_open_items()  # 建设用地规划许可
    walker.work_open_items()  # 建设工程规划许可
    html = steward.text(page)
    assert _stages(html) == {"立项用地规划许可": "done", "工程建设许可": "done",
                             "施工许可": "todo", "竣工验收": "none"}
    # 施工许可, ten days later: the whole-project clock stops.
    walker.do("zjj", "take_task_sheet")
    walker.advance(days=10)
    walker.do("zjj", "review_item_materials")
    walker.do("zjj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    html = steward.text(page)
    assert _stages(html)["施工许可"] == "done"
    assert _number(html, "used-days") == 40 and "已取得施工许可" in html
    # The enterprise sees the same in its portal.
    enterprise = Web(concierge_app)
    enterprise.login("qiye")
    portal = enterprise.text(f"/portal/cases/{walker.case_id}")
    assert _number(portal, "target-days") == 160 and _stages(portal)["施工许可"] == "done"


def test_a_malformed_project_code_is_refused_with_its_group_and_changes_nothing(
        walker: Walker, concierge_app: Flask) -> None:
    from server.services.cases import start_case

    before = table_counts(concierge_app)

    def start() -> None:
        user = db.session.execute(db.select(User).where(User.username == "qiye")).scalar_one()
        start_case(user, PROCESS, {**APPLICATION, **PROJECT,
                                   "project_code": "2026-53232-04-01-1234567"})

    with pytest.raises(ValidationFailedError) as err:
        walker.run(start)
    assert list(err.value.errors) == ["project_code"]
    assert "第2组（地区代码）应为6位数字" in err.value.errors["project_code"][0]
    assert table_counts(concierge_app) == before

    # Corrected on the case page by the steward: a bad code is refused there too, a good one
    # is recorded and audited.
    walker.start(item_codes=["project_filing"], ownership="private", project_type="building")
    steward = Web(concierge_app)
    steward.login("guanjia")
    page = f"/cases/{walker.case_id}"
    before = table_counts(concierge_app)
    refused = steward.post(f"{page}/project", {"project_code": "2026-532326-04-01-12345x",
                                               "ownership": "private",
                                               "project_type": "building"}, token_from=page)
    assert refused.status_code == 422
    assert "第5组（随机码和校验码）应为6位数字" in refused.get_data(as_text=True)
    assert table_counts(concierge_app) == before
    saved = steward.post(f"{page}/project", {"project_code": "2026-532326-04-01-123456",
                                             "ownership": "private", "project_type": "building",
                                             "land_contract_on": "2026-11-02"},
                         token_from=page)
    assert saved.status_code == 302
    [recorded] = walker.events("project_recorded")
    assert recorded["actor"] == "guanjia"
    assert recorded["payload"]["new"]["project_code"] == "2026-532326-04-01-123456"
    assert _number(steward.text(page), "used-days") == 21
    agent = Web(concierge_app)
    agent.login("fgj")
    assert agent.post(f"{page}/project", {"project_code": ""},
                      token_from="/tasks").status_code == 403


def test_without_a_recorded_date_the_clock_starts_when_the_land_contract_item_is_done(
        walker: Walker, concierge_app: Flask) -> None:
    data: dict[str, Any] = {k: v for k, v in PROJECT.items() if k != "land_contract_signed_on"}
    walker.start(item_codes=["land_transfer_contract", "land_use_right_registration",
                             "construction_permit"], **data)
    walker.accept()
    walker.hand_over()
    steward = Web(concierge_app)
    steward.login("guanjia")
    page = f"/cases/{walker.case_id}"
    assert "土地出让合同签订后开始计时" in steward.text(page)
    assert walker.work_open_items() == ["land_transfer_contract"]
    walker.do("zrzy", "take_task_sheet")  # 首次登记 is in hand, the permit still waits
    walker.advance(days=5)
    html = steward.text(page)
    assert _number(html, "used-days") == 5 and _number(html, "left-days") == 155
