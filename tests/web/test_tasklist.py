"""Sign-in and the task lists: lights, working days left, filters, true counts, claiming."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask

from server.engine.clock import FrozenClock
from server.rules.lights import item_light, time_left
from server.rules.workdays import WorkCalendar
from tests.conftest import Api
from tests.helpers.api_cases import only_task, start
from tests.helpers.tasklist import rows, total
from tests.web.helpers import Web, open_items


def test_sign_in_wrong_password_is_refused_and_right_one_opens_the_task_list(web: Any) -> None:
    w: Web = web()
    assert w.get("/tasks").status_code == 302
    bad = w.login("zhaoshang", "wrong")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    assert w.get("/tasks").status_code == 302
    good = w.login("zhaoshang")
    assert good.status_code == 302 and good.headers["Location"].endswith("/tasks")
    assert "待办" in w.text("/tasks")
    out = w.post("/logout")
    assert out.status_code == 302
    assert w.get("/tasks").status_code == 302


def test_enterprise_signs_in_to_its_portal(web: Any) -> None:
    w: Web = web()
    assert w.login("qiye").headers["Location"].endswith("/portal")


def test_task_row_shows_light_and_working_days_left(web: Any, api: Api,
                                                    frozen_clock: FrozenClock) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    w: Web = web()
    w.login("zhaoshang")
    html = w.text("/tasks")
    assert rows(html) == [(review["id"], "yellow")]
    # Monday 09:00 in Beijing, one working day: due Tuesday 17:30.
    assert "剩余1个工作日" in html and "黄灯" in html and "储能电池基地" in html
    frozen_clock.advance(timedelta(days=2))
    html = w.text("/tasks")
    assert rows(html) == [(review["id"], "red")] and "已超期" in html


def test_pagination_counts_every_open_task(app: Flask, web: Any,
                                           frozen_clock: FrozenClock) -> None:
    open_items(app, 60, "dept_fgj")
    w: Web = web()
    w.login("fgj")
    first = w.text("/tasks?scope=groups")
    assert total(first) == 60 and len(rows(first)) == 25
    last = w.text("/tasks?scope=groups&page=3")
    assert total(last) == 60 and len(rows(last)) == 10
    seen = {r for p in (1, 2, 3) for r, _ in rows(w.text(f"/tasks?scope=groups&page={p}"))}
    assert len(seen) == 60
    # Another department sees none of them.
    other: Web = web()
    other.login("zrzy")
    assert total(other.text("/tasks")) == 0


def test_rows_are_sorted_by_due_date_and_filters_by_light_agree_with_the_rule(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    offsets = [timedelta(hours=-5), timedelta(hours=3), timedelta(days=1), timedelta(days=2),
               timedelta(days=6), timedelta(days=30), timedelta(days=-3)]
    open_items(app, len(offsets), "dept_fgj", due_in=offsets)
    w: Web = web()
    w.login("fgj")
    html = w.text("/tasks")
    dues = re.findall(r'<td class="nowrap"[^>]*>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>', html)
    assert dues == sorted(dues) and len(dues) == len(offsets)
    now, cal = frozen_clock.now(), WorkCalendar.default()
    expected = {"red": 0, "yellow": 0, "green": 0}
    for offset in offsets:
        expected[item_light(now + offset, now, cal).code] += 1
    for light, count in expected.items():
        page = w.text(f"/tasks?light={light}")
        assert total(page) == count, light
        assert {c for _, c in rows(page)} <= {light}
    assert sum(expected.values()) == total(html)
    desc = re.findall(r'<td class="nowrap"[^>]*>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>',
                      w.text("/tasks?sort=-due"))
    assert desc == sorted(dues, reverse=True)
    # time left shown matches the rule for the first row
    first_left = time_left(now + offsets[6], now, cal)
    assert first_left.label_zh in html


def test_department_and_stage_filters(app: Flask, web: Any, api: Api,
                                      frozen_clock: FrozenClock) -> None:
    open_items(app, 4, "dept_fgj")
    open_items(app, 3, "dept_zrzy")
    w: Web = web()
    w.login("admin")
    # the admin is in no department group: an empty list, but filters still answer
    assert total(w.text("/tasks?department=dept_fgj")) == 0
    w2: Web = web()
    w2.login("fgj")
    assert total(w2.text("/tasks?department=dept_fgj&stage=立项")) == 4
    assert total(w2.text("/tasks?department=dept_zrzy")) == 0
    assert total(w2.text("/tasks?stage=竣工验收")) == 0


def test_claim_moves_a_group_task_to_mine_and_release_gives_it_back(
        web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    w: Web = web()
    w.login("zhaoshang")
    assert rows(w.text("/tasks?scope=mine")) == []
    assert w.post(f"/tasks/{review['id']}/claim").status_code == 302
    assert [r for r, _ in rows(w.text("/tasks?scope=mine"))] == [review["id"]]
    assert rows(w.text("/tasks?scope=groups")) == []
    assert w.post(f"/tasks/{review['id']}/release").status_code == 302
    assert rows(w.text("/tasks?scope=mine")) == []
    assert [r for r, _ in rows(w.text("/tasks?scope=groups"))] == [review["id"]]


def test_language_switch_shows_english(web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    start(api)
    w: Web = web()
    w.login("zhaoshang")
    assert "我的待办" in w.text("/tasks")
    w.get("/lang/en", headers={"Referer": "http://localhost/tasks"})
    html = w.text("/tasks")
    assert "My tasks" in html and "我的待办" not in html and 'lang="en"' in html
    w.get("/lang/zh")
    assert "我的待办" in w.text("/tasks")


def test_a_department_task_names_its_approval_item_in_the_list(api: Api, web: Any) -> None:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    w: Web = web()
    w.login("fgj")
    html = w.text("/tasks")
    assert "领取任务单" in html
    assert "企业投资项目备案" in html  # fgj's item
    assert "建设用地规划许可证" not in html  # zrzy's item is not fgj's
