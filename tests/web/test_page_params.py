"""The pages' parameters go through marshmallow schemas and keep the pages' old manners:
a hand-edited link shows the default view (never a 500), a refused form changes nothing."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.datastructures import MultiDict

from server.engine.clock import FrozenClock
from server.schemas.pages import MAX_PAGE
from server.schemas.views import ItemClockForm, TaskListQuery
from server.web import params
from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start
from tests.web.helpers import Web, open_items

ROW = re.compile(r'<tr data-task="([^"]+)" class="light-(\w+)">')


def total(html: str) -> int:
    found = re.search(r'id="task-count">[^<]*<b>(\d+)</b>', html)
    assert found, html[:300]
    return int(found.group(1))


def test_a_task_list_link_is_read_with_its_defaults_and_tolerates_nonsense() -> None:
    wanted = params.load(TaskListQuery, MultiDict([
        ("page", "abc"), ("scope", "everyone"), ("due_before", "31/12/2026"),
        ("per_page", "0"), ("q", "  " + "项" * 150 + " "), ("csrf_token", "x")]))
    assert wanted["page"] == 1 and wanted["scope"] == "all"
    assert wanted["due_before"] is None and wanted["per_page"] == 1
    assert wanted["q"] == "项" * 100 and "csrf_token" not in wanted
    assert params.load(TaskListQuery, MultiDict([("page", "10000000000")]))["page"] == MAX_PAGE
    assert params.load(TaskListQuery, MultiDict([("due_before", "2026-12-31T08:00")])
                       )["due_before"].isoformat() == "2026-12-31"


def test_a_clock_pause_cap_is_a_whole_number_of_days_or_none() -> None:
    def cap(raw: str) -> Any:
        return params.load(ItemClockForm, MultiDict([("cap_days", raw)]))["cap_days"]

    assert [cap("5"), cap(" 5 "), cap("-3"), cap("1.5"), cap("")] == [5, 5, None, None, None]


def test_the_task_list_shows_its_default_view_for_a_hand_edited_link(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    open_items(app, 30, "dept_fgj")
    w: Web = web()
    w.login("fgj")
    plain = w.text("/tasks?scope=groups")
    odd = w.text("/tasks?scope=groups&page=zwei&due_before=tomorrow&per_page=x")
    assert total(odd) == total(plain) == 30
    assert ROW.findall(odd) == ROW.findall(plain)
    assert total(w.text("/tasks?scope=groups&page=99999999999999999999")) == 30


def test_the_next_page_link_keeps_the_filters_set(app: Flask, web: Any,
                                                  frozen_clock: FrozenClock) -> None:
    open_items(app, 30, "dept_fgj")
    w: Web = web()
    w.login("fgj")
    html = w.text("/tasks?scope=groups&stage=立项&per_page=10")
    links = re.findall(r'href="(/tasks\?[^"]*page=2[^"]*)"', html)
    assert links, html[:500]
    nxt = w.text(links[0].replace("&amp;", "&"))
    assert total(nxt) == 30 and len(ROW.findall(nxt)) == 10
    assert "stage=" in links[0] and "per_page=10" in links[0]


def test_claiming_never_sends_the_browser_to_another_site(
        web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    start(api)
    task_id = only_task(api, "zhaoshang", "review")["id"]
    w: Web = web()
    w.login("zhaoshang")
    for back in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        answer = w.post(f"/tasks/{task_id}/claim", {"back": back})
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/tasks/"), answer.headers["Location"]
        w.post(f"/tasks/{task_id}/release", {"back": back})
    answer = w.post(f"/tasks/{task_id}/claim", {"back": "/tasks?scope=mine"})
    assert answer.headers["Location"] == "/tasks?scope=mine"
    assert [r for r, _ in ROW.findall(w.text("/tasks?scope=mine"))] == [task_id]


def test_a_users_enterprise_that_is_not_a_number_is_refused_on_the_form(app: Flask) -> None:
    """It was a 500 (``int()`` on the raw text); now the form again, naming the field."""
    admin = Web(app)
    admin.login("admin")
    before = table_counts(app)
    sent = {"username": "xinren", "display_name": "新人", "password": "Zq-8vbn-Lk2!",
            "groups": ["dept_lc"], "enterprise_id": "企业甲", "active": "on"}
    page = admin.post("/admin/users/new", sent, token_from="/admin/users/new")
    assert page.status_code == 422 and "请输入整数" in page.get_data(as_text=True)
    admin.get("/lang/en")
    page = admin.post("/admin/users/new", sent, token_from="/admin/users/new")
    assert page.status_code == 422 and "Not a valid integer." in page.get_data(as_text=True)
    assert table_counts(app) == before


def test_the_dashboard_drill_down_and_the_audit_list_show_page_one_for_a_bad_page(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    leader: Web = web()
    leader.login("lingdao")
    assert (leader.text("/dashboard/items?light=red&page=abc").count("<tr")
            == leader.text("/dashboard/items?light=red").count("<tr"))
    auditor: Web = web()
    auditor.login("shenji")
    for path in ("/audit/?page=-4", "/audit/?page=x&q=%20GJ%20", "/audit/?page=1e9"):
        assert auditor.get(path).status_code == 200, path


def test_the_audit_verification_answers_json_for_one_case_or_the_whole_log(
        api: Api, web: Any) -> None:
    case_id = start(api)["id"]
    auditor: Web = web()
    auditor.login("shenji")
    whole = auditor.get("/audit/verify?format=json").get_json()
    assert whole["case_id"] is None and whole["ok"] is True
    one = auditor.get(f"/audit/verify?format=json&case={case_id}&case=other").get_json()
    assert one["case_id"] == case_id and one["ok"] is True
    assert auditor.get("/audit/verify?format=xml").content_type.startswith("text/html")


def test_a_designer_diff_without_two_readable_versions_is_422(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.token('sheji')}", "X-Guanjia-Designer": "1"}
    for query in ("from=1", "from=1&to=zwei", ""):
        answer = api.client.get(f"/designer/api/diff?{query}", headers=headers)
        assert answer.status_code == 422, query
        assert answer.get_json()["errors"] == {"from": ["required"]}


def test_the_county_after_care_setting_is_saved_for_the_county_named_and_refused_out_of_range(
        app: Flask, web: Any) -> None:
    from server.services import aftercare

    admin: Web = web()
    admin.login("admin")
    good = {"start_work_months": "7", "production_months": "30", "effect_months": "40",
            "warn_days": "9"}
    page = admin.post("/reserve/aftercare/settings?county=", {**good, "warn_days": "999"},
                      token_from="/reserve/aftercare/settings")
    assert page.status_code == 422 and "0–180" in page.get_data(as_text=True)
    with app.app_context():
        assert aftercare.settings_for("").warn_days != 999
    saved = admin.post("/reserve/aftercare/settings", {**good, "county": ""},
                       token_from="/reserve/aftercare/settings")
    assert saved.status_code == 302
    with app.app_context():
        setting = aftercare.settings_for("")
        assert (setting.start_work_months, setting.warn_days) == (7, 9)


def test_refused_or_filtered_values_are_shown_back_as_typed(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    leader: Web = web()
    leader.login("lingdao")
    bad = leader.get("/supervision/scorecards?period=month&at=2026-13")
    assert bad.status_code == 422 and 'value="2026-13"' in bad.get_data(as_text=True)
    fgj: Web = web()
    fgj.login("fgj")
    assert 'name="due_before" value="2026-12-31"' in fgj.text("/tasks?due_before=2026-12-31")
    admin: Web = web()
    admin.login("admin")
    refused = admin.post("/admin/groups", {"code": "Not A Code!", "name": "人防办",
                                           "name_en": "Civil air defence", "kind": "department"},
                         token_from="/admin/groups")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'value="Not A Code!"' in text and 'value="Civil air defence"' in text
