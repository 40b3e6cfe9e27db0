"""What staff notice in their first hour on the task list and in the inbox: search by project
and case number, saved filters, bulk claim, the unread count, mark-all-read, closed notices;
and the county's internal fields, which never reach the enterprise."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import AuditEvent, FieldVisibility, SavedFilter, WorkItem
from tests.conftest import Api
from tests.helpers.api_cases import ITEMS, only_task, start
from tests.helpers.pdf import pdf_text, squeeze
from tests.helpers.tasklist import rows, total
from tests.web.helpers import Web

UNREAD = re.compile(r'id="unread-count"[^>]*>(\d+)<')


def unread(html: str) -> int:
    found = UNREAD.search(html)
    return int(found.group(1)) if found else 0


def start_named(api: Api, project: str) -> dict[str, Any]:
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": project, "investment_wan": 5000, "items": ITEMS}})
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def events(app: Flask, type_: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(
            select(AuditEvent).where(AuditEvent.type == type_)).scalars())


# ---- search -------------------------------------------------------------------------------

def test_search_finds_a_task_by_project_name_and_by_case_number(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    solar = start_named(api, "光伏组件项目")
    battery = start_named(api, "储能电池基地")
    w: Web = web()
    w.login("zhaoshang")
    assert total(w.text("/tasks")) == 2
    by_name = w.text("/tasks?q=光伏")
    assert total(by_name) == 1 and "光伏组件项目" in by_name and "储能电池基地" not in by_name
    by_number = w.text(f"/tasks?q={battery['reference']}")
    assert total(by_number) == 1 and "储能电池基地" in by_number
    assert solar["reference"] not in by_number
    assert total(w.text("/tasks?q=没有这个项目")) == 0


# ---- saved filters ------------------------------------------------------------------------

def test_a_saved_filter_is_the_users_own_and_opens_the_same_list(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    start_named(api, "光伏组件项目")
    start_named(api, "储能电池基地")
    w: Web = web()
    w.login("zhaoshang")
    page = w.text("/tasks?q=光伏&page=3")
    assert 'id="save-filter"' in page
    saved = w.post("/tasks/filters", {"name": "光伏项目", "query": "q=光伏&page=3&evil=1"})
    assert saved.status_code == 302
    listing = w.text("/tasks")
    link = re.search(r'<a href="(/tasks\?[^"]+)"[^>]*>光伏项目</a>', listing)
    assert link, listing
    opened = w.text(link.group(1).replace("&amp;", "&"))
    assert total(opened) == 1 and "光伏组件项目" in opened
    assert len(events(app, "filter_saved")) == 1

    # another person neither sees nor deletes it
    other: Web = web()
    other.login("juzhang")
    assert "光伏项目" not in other.text("/tasks")
    with app.app_context():
        row = db.session.execute(select(SavedFilter)).scalar_one()
        assert row.query == "q=%E5%85%89%E4%BC%8F"  # only the list's own keys are kept
        filter_id = row.id
    assert other.post(f"/tasks/filters/{filter_id}/delete").status_code == 404

    # a nameless filter is refused, nothing is added
    refused = w.post("/tasks/filters", {"name": " ", "query": "q=光伏"},
                     follow_redirects=True)
    assert "请填写名称" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(SavedFilter)).scalars().all() != []
        assert len(db.session.execute(select(SavedFilter)).scalars().all()) == 1

    assert w.post(f"/tasks/filters/{filter_id}/delete").status_code == 302
    assert "光伏项目" not in w.text("/tasks")
    assert len(events(app, "filter_deleted")) == 1


# ---- bulk claim ---------------------------------------------------------------------------

def test_bulk_claim_claims_each_audited_and_reports_the_refused_ones(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    start_named(api, "光伏组件项目")
    start_named(api, "储能电池基地")
    reviews = [t["id"] for t in api.tasks("zhaoshang") if t["element_id"] == "review"]
    assert len(reviews) == 2

    # a department agent may not claim the bureau's tasks: refused, nothing changes
    fgj: Web = web()
    fgj.login("fgj")
    page = fgj.post("/tasks/claim-many", {"task_ids": reviews[:1]}, follow_redirects=True)
    assert "未能认领" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(WorkItem, reviews[0]).claimed_by is None
    assert events(app, "task_claimed") == []

    w: Web = web()
    w.login("zhaoshang")
    listing = w.text("/tasks")
    assert 'form="bulk-claim"' in listing and 'id="claim-selected"' in listing
    page = w.post("/tasks/claim-many", {"task_ids": [*reviews, "no-such-task"]},
                  follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "已认领 2 项" in text and "未能认领" in text and "任务不存在" in text
    assert sorted(r for r, _ in rows(w.text("/tasks?scope=mine"))) == sorted(reviews)
    claimed = events(app, "task_claimed")
    assert sorted(e.task_id for e in claimed) == sorted(reviews)
    assert all(e.actor == "zhaoshang" for e in claimed)

    # nothing ticked: a clear message, nothing claimed
    empty = w.post("/tasks/claim-many", {}, follow_redirects=True)
    assert "请先勾选要认领的任务" in empty.get_data(as_text=True)


# ---- inbox --------------------------------------------------------------------------------

def test_unread_count_mark_all_read_and_closed_notices(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    first = start_named(api, "光伏组件项目")
    start_named(api, "储能电池基地")
    w: Web = web()
    w.login("zhaoshang")
    assert unread(w.text("/tasks")) == 2

    # the review of the first case is done: its notice closes and stops counting
    review = next(t for t in api.tasks("zhaoshang")
                  if t["element_id"] == "review" and t["case_id"] == first["id"])
    assert api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}}).status_code == 200
    inbox = w.text("/inbox")
    assert unread(inbox) == 1
    assert inbox.count("已关闭：任务已办理") == 1

    assert w.post("/inbox/read-all", token_from="/inbox").status_code == 302
    after = w.text("/inbox")
    assert unread(after) == 0 and 'id="unread-count"' not in after
    assert 'id="read-all"' not in after

    # another person's notices are untouched by it
    fgj: Web = web()
    fgj.login("fgj")
    assert unread(fgj.text("/tasks")) >= 1


def test_marking_a_notice_read_is_the_readers_alone_and_only_for_their_own(
        app: Flask, web: Any, api: Api) -> None:
    start_named(api, "光伏组件项目")  # the bureau's review: a notice to zhaoshang
    w: Web = web()
    w.login("zhaoshang")
    page = w.text("/inbox")
    notice_id = int(re.search(r'/inbox/(\d+)/read"', page).group(1))  # type: ignore[union-attr]
    # Someone not in its audience cannot mark it: zhaoshang's stays unread.
    other: Web = web()
    other.login("fgj")
    assert other.post(f"/inbox/{notice_id}/read", token_from="/inbox").status_code == 302
    assert unread(w.text("/inbox")) == 1
    assert w.post(f"/inbox/{notice_id}/read", token_from="/inbox").status_code == 302
    after = w.text("/inbox")
    assert unread(after) == 0 and f"/inbox/{notice_id}/read" not in after


# ---- internal fields ----------------------------------------------------------------------

def test_only_an_administrator_sets_internal_fields(app: Flask, web: Any) -> None:
    staff: Web = web()
    staff.login("zhaoshang")
    assert staff.get("/settings/field-visibility").status_code == 403
    assert staff.post("/settings/field-visibility", {"internal": ["review.review_note"]},
                      token_from="/tasks").status_code == 403
    admin: Web = web()
    admin.login("admin")
    page = admin.text("/settings/field-visibility")
    assert "本县设置" in page and 'value="review.review_note"' in page
    bad = admin.post("/settings/field-visibility", {"internal": ["review.nothing"]},
                     token_from="/settings/field-visibility")
    assert bad.status_code == 422 and "没有这些表单字段" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(FieldVisibility)).scalars().all() == []
    assert events(app, "field_visibility_changed") == []
    ok = admin.post("/settings/field-visibility", {"internal": ["review.review_note"]},
                    token_from="/settings/field-visibility")
    assert ok.status_code == 302
    assert 'value="review.review_note" checked' in admin.text("/settings/field-visibility")
    changed = events(app, "field_visibility_changed")
    assert len(changed) == 1 and changed[0].actor == "admin"


def test_an_internal_opinion_never_reaches_the_enterprise(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    admin: Web = web()
    admin.login("admin")
    assert admin.post("/settings/field-visibility", {"internal": ["review.review_note"]},
                      token_from="/settings/field-visibility").status_code == 302
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    assert api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {
        "approved": True, "review_note": "内部掌握：用地指标紧张"}}).status_code == 200
    record = f"/cases/{case['id']}/records/review"

    staff: Web = web()
    staff.login("fgj")
    sheet = only_task(api, "fgj", "take_sheet")
    assert "内部掌握：用地指标紧张" in staff.text(f"/tasks/{sheet['id']}")
    assert "内部掌握：用地指标紧张" in staff.text(record)

    enterprise: Web = web()
    enterprise.login("qiye")
    portal = enterprise.text(f"/portal/cases/{case['id']}")
    assert "内部掌握" not in portal
    printed = enterprise.text(record)
    assert "内部掌握" not in printed and "同意受理" in printed
    pdf = enterprise.get(record + "?format=pdf")
    if pdf.status_code == 200:  # WeasyPrint present: the PDF leaves it out as well
        assert "内部掌握" not in squeeze(pdf_text(pdf.data, tmp_path))
    else:
        assert pdf.status_code == 503

    # the county turns it back: the enterprise's print shows it again
    assert admin.post("/settings/field-visibility", {},
                      token_from="/settings/field-visibility").status_code == 302
    assert "内部掌握：用地指标紧张" in enterprise.text(record)


def test_the_shipped_review_opinion_is_internal_by_default(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    """application_review.form marks 审核意见 internal: the enterprise's own task page (its
    agreement to the service plan) and its print of the review leave it out; staff see it."""
    from tests.scenarios.conftest import ROOT, Walker

    app: Flask = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                          GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    walker = Walker(app, frozen_clock)
    case_id = walker.start()
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team")
    walker.do("guanjia", "draft_service_plan")
    opinion = "已签约，成熟度高"  # FORM_DATA's review opinion
    [agree] = walker.ready("agree_service_plan")
    record = f"/cases/{case_id}/records/application_review"

    enterprise = Web(app)
    enterprise.login("qiye")
    task_page = enterprise.text(f"/tasks/{agree['id']}")
    assert "此前的决定" in task_page and opinion not in task_page
    assert opinion not in enterprise.text(f"/portal/cases/{case_id}")
    assert opinion not in enterprise.text(record)

    staff = Web(app)
    staff.login("zhuanchuang")
    assert opinion in staff.text(record)
