"""中介超市 (seed 004 §五(六), 附件6; seed 003 §四(四)): the enterprise chooses its own agency for
the 环评 report its 环评 item needs; the agency's due date runs on its own clock beside the plan's
timeline, and its lateness never turns the department's item red; the enterprise rates it and
the bureau reviews the agencies' record."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.engine.clock import FrozenClock
from tests.conftest import table_counts
from tests.helpers.intermediaries import EIA, _market, case_in_handling
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web


def _row(html: str, marker: str) -> str:
    found = re.search(r"<tr\b(?:(?!</tr>).)*?" + re.escape(marker) + r".*?</tr>", html, re.S)
    assert found, marker
    return found.group(0)


def _agency_id(walker: Walker, name: str) -> int:
    from server.extensions import db
    from server.models import Agency

    return int(walker.run(lambda: db.session.execute(
        select(Agency.id).where(Agency.name == name)).scalar_one()))






def test_the_enterprise_chooses_its_eia_agency_whose_lateness_never_turns_the_item_red(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    walker = case_in_handling(make_app, frozen_clock)
    _market(walker)
    case_id = walker.case_id
    page = f"/agencies/cases/{case_id}"
    qiye = Web(walker.app)
    qiye.login("qiye")
    needs = qiye.text(page)
    assert EIA in needs and "云南甲环评咨询有限公司" in needs and "0878-6221234" in needs
    assert "乙测绘院" not in _row(needs, f'data-service="{EIA}"')
    service_id = re.search(r'name="service_id" value="(\d+)"', needs).group(1)  # type: ignore

    # An agency not registered for 环评 is refused, and nothing changes.
    before = table_counts(walker.app)
    wrong = qiye.post(f"{page}/choose", {"item_code": "env_impact_form", "service_id": service_id,
                                         "agency_id": str(_agency_id(walker, "乙测绘院"))},
                      token_from=page)
    assert wrong.status_code == 422
    assert f"乙测绘院 未在中介超市登记「{EIA}」服务" in wrong.get_data(as_text=True)
    assert table_counts(walker.app) == before
    # The choice is the enterprise's own: neither the bureau nor another enterprise makes it.
    choice = {"item_code": "env_impact_form", "service_id": service_id,
              "agency_id": str(_agency_id(walker, "云南甲环评咨询有限公司"))}
    for username in ("zhaoshang", "qiye_b"):
        other = Web(walker.app)
        other.login(username)
        assert other.post(f"{page}/choose", choice,
                          token_from="/tasks" if username == "zhaoshang" else "/portal"
                          ).status_code == 403
    assert table_counts(walker.app) == before

    assert qiye.post(f"{page}/choose", choice, token_from=page).status_code == 302
    # Chosen on Monday 2026-11-23: five working days end on Monday 2026-11-30.
    progress = qiye.text(f"/portal/cases/{case_id}")
    agency_row = _row(progress, 'class="agency-row"')
    assert "云南甲环评咨询有限公司" in agency_row and "2026-11-30" in agency_row
    assert 'data-light="green"' in agency_row

    frozen_clock.advance(timedelta(days=8))  # 2026-12-01: the agency is late, the item is not
    for web, path in ((qiye, f"/portal/cases/{case_id}"), (None, f"/cases/{case_id}")):
        if web is None:
            web = Web(walker.app)
            web.login("guanjia")
        html = web.text(path)
        agency_row = _row(html, 'class="agency-row"')
        assert 'data-light="red"' in agency_row and "中介超期" in agency_row
        item_row = _row(html, 'data-item="env_impact_form"')
        assert "item-working" in item_row or "item-called" in item_row
        assert "红灯" not in item_row and "绿灯" in item_row
        gantt = re.search(r'<g class="gantt-row[^"]*" data-item="env_impact_form"', html)
        assert gantt and "late" not in gantt.group(0)

    # The enterprise records the late delivery and rates the agency; the bureau reviews it.
    engagement = re.search(r'/agencies/engagements/(\d+)/delivered', qiye.text(page)).group(1)  # type: ignore
    outsider = Web(walker.app)
    outsider.login("qiye_b")
    before = table_counts(walker.app)
    assert outsider.post(f"/agencies/engagements/{engagement}/rate", {"rating": "5"},
                         token_from="/portal").status_code == 403
    assert table_counts(walker.app) == before
    assert qiye.post(f"/agencies/engagements/{engagement}/delivered",
                     {"delivered_on": "2026-12-01"}, token_from=page).status_code == 302
    bad = qiye.post(f"/agencies/engagements/{engagement}/rate", {"rating": "9"},
                    token_from=page)
    assert bad.status_code == 422 and "请评 1–5 分" in bad.get_data(as_text=True)
    assert qiye.post(f"/agencies/engagements/{engagement}/rate",
                     {"rating": "2", "rating_comment": "报告晚交两天",
                      "complaint": "未按承诺时限交付"}, token_from=page).status_code == 302
    assert "逾期交付" in qiye.text(page)
    bureau = Web(walker.app)
    bureau.login("zhaoshang")
    record = _row(bureau.text("/agencies/record"), "云南甲环评咨询有限公司")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", record, re.S)
    assert cells[2:6] == ["1", "0", "1", "0"]  # 承接, 按时, 已交付, 超期未交付
    assert cells[6].startswith("2") and "未按承诺时限交付" in cells[7]
    assert qiye.get("/agencies/record").status_code == 403

    from server.extensions import db
    from server.models import AuditEvent

    kinds = walker.run(lambda: list(db.session.execute(
        select(AuditEvent.type).where(AuditEvent.case_id == case_id,
                                      AuditEvent.type.like("agency_%"))
        .order_by(AuditEvent.case_seq)).scalars()))
    assert kinds == ["agency_chosen", "agency_work_delivered", "agency_rated"]
