"""Case page, enterprise portal (apply, node progress, isolation), records, admin, inbox."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start
from tests.web.helpers import Web


def diagram(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="diagram-data">(.*?)</script>', html,
                      re.S)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_enterprise_applies_online_and_follows_its_case_node_by_node(
        web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    w: Web = web()
    w.login("qiye")
    form = w.text("/portal/apply")
    assert 'name="project_name"' in form and 'value="project_filing"' in form
    bad = w.post("/portal/apply", {"project_name": "", "investment_wan": "很多"},
                 token_from="/portal/apply")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "此项为必填" in text and "请输入数字" in text
    ok = w.post("/portal/apply", {"project_name": "光伏组件厂", "investment_wan": "80000",
                                  "items__codes": ["project_filing", "land_use_planning_permit"]},
                token_from="/portal/apply")
    assert ok.status_code == 302 and "/portal/cases/" in ok.headers["Location"]
    case_id = ok.headers["Location"].rsplit("/", 1)[-1]
    shown = api.get(f"/cases/{case_id}", "zhaoshang").json
    assert shown["data"]["items"][0]["department"] == "dept_fgj"
    progress = w.text(f"/portal/cases/{case_id}")
    assert "光伏组件厂" in progress and "审核" in progress and "待办理" in progress
    portal = w.text("/portal")
    assert "光伏组件厂" in portal


def test_an_enterprise_cannot_open_another_enterprises_case(app: Flask, web: Any, api: Api,
                                                            frozen_clock: FrozenClock) -> None:
    case = start(api, "qiye")
    other: Web = web()
    other.login("qiye_b")
    before = table_counts(app)
    for path in (f"/portal/cases/{case['id']}", f"/cases/{case['id']}",
                 f"/cases/{case['id']}/records/review"):
        assert other.get(path).status_code == 403, path
    assert "储能电池基地" not in other.text("/portal")
    assert "储能电池基地" not in other.text("/cases")
    assert table_counts(app) == before
    owner: Web = web()
    owner.login("qiye")
    assert owner.get(f"/portal/cases/{case['id']}").status_code == 200


def test_case_page_marks_done_active_and_overdue_elements(web: Any, api: Api,
                                                          frozen_clock: FrozenClock) -> None:
    from datetime import timedelta

    case = start(api)
    w: Web = web()
    w.login("zhaoshang")
    first = diagram(w.text(f"/cases/{case['id']}"))
    assert 'id="parallel_case"' in first["xml"]
    assert first["active"] == ["review"] and first["done"] == [] and first["overdue"] == []
    frozen_clock.advance(timedelta(days=3))
    assert diagram(w.text(f"/cases/{case['id']}"))["overdue"] == ["review"]
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    html = w.text(f"/cases/{case['id']}")
    after = diagram(html)
    assert "review" in after["done"] and after["active"] == ["take_sheet"]
    assert "任务完成" in html and "案件开始" in html  # the timeline
    assert "领取任务单" in html  # who is working on what


def test_street_and_auditor_read_cases_but_cannot_act(app: Flask, web: Any, api: Api,
                                                      frozen_clock: FrozenClock) -> None:
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    auditor: Web = web()
    auditor.login("shenji")
    assert auditor.get(f"/cases/{case['id']}").status_code == 200
    before = table_counts(app)
    assert auditor.post(f"/tasks/{review['id']}", {"approved": "on", "action": "submit"},
                        token_from="/cases").status_code == 403
    assert table_counts(app) == before


def test_printable_record_shows_the_submitted_data_with_labels(web: Any, api: Api,
                                                               frozen_clock: FrozenClock) -> None:
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
             json={"data": {"approved": True, "review_note": "材料齐全，同意受理"}})
    w: Web = web()
    w.login("qiye")
    html = w.text(f"/cases/{case['id']}/records/review")
    assert "<th>同意受理</th><td>是</td>" in html
    assert "<th>意见</th><td>材料齐全，同意受理</td>" in html
    assert "print.css" in html and case["reference"] in html
    assert w.get(f"/cases/{case['id']}/records/close").status_code == 404
    assert "/records/review" in w.text(f"/portal/cases/{case['id']}")


def test_admin_manages_users_and_groups_and_nobody_else_may(app: Flask, web: Any) -> None:
    staff: Web = web()
    staff.login("zhaoshang")
    assert staff.get("/admin/users").status_code == 403
    admin: Web = web()
    admin.login("admin")
    assert "zhaoshang" in admin.text("/admin/users")
    made = admin.post("/admin/users/new", {"username": "linchao2", "display_name": "林草局 新人",
                                           "password": "long-enough-1", "groups": ["dept_lc"],
                                           "active": "on"}, token_from="/admin/users/new")
    assert made.status_code == 302
    newcomer: Web = web()
    assert newcomer.login("linchao2", "long-enough-1").status_code == 302
    short = admin.post("/admin/users/new", {"username": "x2", "display_name": "x",
                                            "password": "short", "groups": []},
                       token_from="/admin/users/new")
    assert short.status_code == 422 and "密码至少8位" in short.get_data(as_text=True)
    group = admin.post("/admin/groups", {"code": "dept_rf", "name": "人防办",
                                         "name_en": "Civil Air Defence", "kind": "department"},
                       token_from="/admin/groups")
    assert group.status_code == 302 and "人防办" in admin.text("/admin/groups")
    assert "人防办" in admin.text("/tasks")  # the new department is a task-list filter


def test_inbox_page_answers(web: Any) -> None:
    w: Web = web()
    w.login("zhaoshang")
    assert "收件箱" in w.text("/inbox")
