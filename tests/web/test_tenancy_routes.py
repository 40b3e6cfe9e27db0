"""Counties as tenants through the pages and the API (issue 21): every route of the app that
addresses a case's data by id, taken from the app's url_map, answers a user of 大姚 who asks
for 姚安's ids with 404 (or with the very refusal the user gets for their own county's ids:
a role that may not use the route at all), changes nothing, and shows nothing of 姚安; the
lists, the search and the dashboard leave 姚安 out; the prefecture sees both.

A new route whose arguments are not known here fails ``test_every_route_is_classified``
until it is given a value below (and so is checked) or a reason to be left out.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Case, WorkItem
from tests.conftest import Api
from tests.helpers.tenancy import CountyCase, TwoCounties, two_counties
from tests.web.helpers import Web

#: Arguments naming a case's data: each route with one of them is tried with 姚安's ids.
CASE_ARGUMENTS = {"case_id", "task_id", "code", "form_key", "visit_id", "attachment_id",
                  "seq", "complaint_id", "aftercare_id", "report_id", "reserve_id", "handup_id",
                  "policy_id"}
#: Routes whose argument of a shared name means another thing: its value's key instead.
OTHER_MEANING = {("reserve.close_supervision", "task_id"): "supervision_id"}
#: Routes left out, each with its reason. Keep it honest: data of a county addressed by an
#: id here is a leak until a later slice scopes it.
NOT_CASE_DATA = {
    "static": "static files",
    "vendor.static": "the browser bundles (frontend/dist), static files",
    "auth.switch_language": "the language, not data",
    "admin.user": "administrators' user pages (users are not case data); a county "
                  "administrator's other-county user is not found (test_county_deployments)",
    "designer.api_discard_draft": "a designer's own drafts",
    "designer.download": "a version by number: another county's is not found "
                         "(test_county_deployments)",
    "designer.edit": "a file of the prefecture's or the designer's county's versions",
    "designer.edit_form": "a form as the designer's county runs it",
    "tasklist.inbox_read": "a user's own notices (refused for anyone else's)",
    "tasklist.delete_filter": "a user's own saved filters",
    "audit.export": "the format; the cases exported are scoped (test below)",
}
#: Routes addressing county data by an id of their own, not yet scoped (issue 21, later
#: slices): reported as left, and kept here so none is forgotten.
LEFT_FOR_LATER = {
    # Scoped in the service (intermediaries._engagement_for answers 404), not tried here
    # yet: no engagement fixture.
    "agencies.delivered": "intermediary engagements",
    "agencies.rate": "intermediary engagements",
}
#: 大姚's people tried on every route: each role that reads or acts on cases.
A_USERS = ("lingdao", "zhaoshang", "zhuanchuang", "guanjia", "fgj", "shenji", "ducha",
           "admin", "qiye")


@pytest.fixture
def both(app: Flask, api: Api) -> TwoCounties:
    return two_counties(app, api)


def _values(app: Flask, case: CountyCase, enterprise: str, leader: str) -> dict[str, str]:
    """A value for each argument of ``CASE_ARGUMENTS``, of ``case`` (a complaint about it is
    filed by its ``enterprise``; its after-care, inserted as if it had been completed, has a
    supervision task for its ``leader``)."""
    from datetime import date

    from server.models import Handup, User
    from server.models.aftercare import AftercareProject, Milestone, SupervisionTask
    from server.models.policies import Policy
    from server.models.reserve import ReserveProject
    from server.services.complaints import file_complaint
    from server.services.report_books import prepare

    with app.app_context():
        seq = db.session.execute(select(AuditEvent.seq).where(
            AuditEvent.case_id == case.id).order_by(AuditEvent.seq)).scalars().first()
        filer = db.session.execute(select(User).where(User.username == enterprise)).scalar_one()
        complaint = file_complaint(filer, {"subject": "case", "case": case.reference,
                                           "content": f"{case.title} 办理太慢"})
        complaint_id = complaint.id
        project = AftercareProject(case_id=case.id, completed_on=date(2026, 1, 5),
                                   leader=leader, steward="", invested_wan=0.0)
        project.milestones = [Milestone(kind="start_work", due_on=date(2026, 7, 5))]
        db.session.add(project)
        db.session.flush()
        supervision = SupervisionTask(milestone_id=project.milestones[0].id,
                                      aftercare_id=project.id, assignee=leader)
        db.session.add(supervision)
        db.session.commit()
        aftercare_id, supervision_id = project.id, supervision.id
        report_id = prepare("monthly", "2026-11", actor="test", county=case.county).id
        reserve = ReserveProject(name=f"{case.title}二期", investor="某投资方", industry="energy",
                                 investment_wan=1000.0, county=case.county, stage="signed",
                                 leader=leader, department="dept_fgj", liaison=leader,
                                 created_by="test")
        db.session.add(reserve)
        db.session.commit()
        reserve_id = reserve.id
        # A 州-level item handed up from the case to the prefecture (issue 21).
        handup = Handup(case_id=case.id, county_task_id=case.tasks["dept_fgj"],
                        item_code="project_approval", item_name="企业投资项目核准",
                        county_department="dept_fgj", prefecture_group="pref_dept_fgj",
                        limit_days=20, limit_kind="working", note=f"{case.title} 报州核准",
                        state="sent", sent_by="test", approval_number="",
                        decision_reason="")
        db.session.add(handup)
        db.session.commit()
        handup_id = handup.id
        # A policy of the county's bureau (政策推送), draft, naming the case's project.
        policy = Policy(title=f"{case.title} 扶持政策", issuer="县人民政府", body="全文",
                        industries=["energy"], areas=["金碧镇"], county=case.county,
                        created_by="test")
        db.session.add(policy)
        db.session.commit()
        policy_id = policy.id
        db.session.remove()
    return {"case_id": case.id, "task_id": case.tasks["dept_fgj"], "code": "project_filing",
            "form_key": "application", "visit_id": "1", "attachment_id": case.id,
            "seq": str(seq), "complaint_id": str(complaint_id),
            "aftercare_id": str(aftercare_id), "supervision_id": str(supervision_id),
            "report_id": str(report_id), "reserve_id": str(reserve_id),
            "handup_id": str(handup_id), "policy_id": str(policy_id)}


def _rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every route with an argument of ``CASE_ARGUMENTS``."""
    found = []
    for rule in app.url_map.iter_rules():
        if (rule.arguments & CASE_ARGUMENTS and rule.endpoint not in NOT_CASE_DATA
                and rule.endpoint not in LEFT_FOR_LATER):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def _url(endpoint: str, rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>",
                  lambda m: values[OTHER_MEANING.get((endpoint, m.group(1)), m.group(1))], rule)


def _fingerprint(app: Flask, case_id: str) -> Any:
    """What a refused request must leave alone: the case's version, events and tasks."""
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        tasks = sorted(db.session.execute(select(
            WorkItem.id, WorkItem.state, WorkItem.claimed_by, WorkItem.assignee,
            WorkItem.draft).where(WorkItem.case_id == case_id)).all())
        found = (case.state_version, case.event_count, case.status, tasks)
        db.session.remove()
        return found


def test_every_route_is_classified(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if not rule.arguments:
            continue
        assert (rule.arguments & CASE_ARGUMENTS or rule.endpoint in NOT_CASE_DATA
                or rule.endpoint in LEFT_FOR_LATER), (
            f"{rule.rule} ({rule.endpoint}) addresses something by id: give its argument a "
            f"value in CASE_ARGUMENTS (so another county's ids are tried on it) or a reason")


def _ask(app: Flask, api: Api, web: Web, name: str, method: str, url: str) -> tuple[int, str]:
    if url.startswith("/api/v1/"):
        response = api.call(method, url.removeprefix("/api/v1"), name, json={"data": {}})
    elif method == "GET":
        response = web.get(url)
    else:
        # A body that names an action, so routes that dispatch on one reach their lookup.
        response = web.post(url, {"action": "resume"})
    # Bytes read leniently: a case file (zip) or a PDF is checked for the names as well.
    return response.status_code, response.get_data().decode("utf-8", errors="replace")


def test_another_countys_ids_are_not_found_on_any_route(
        app: Flask, api: Api, both: TwoCounties) -> None:
    theirs = _values(app, both.b, "qiye_b", "b_lingdao")
    ours = _values(app, both.a, "qiye", "lingdao")
    untouched = _fingerprint(app, both.b.id)
    rules = _rules(app)
    assert len(rules) > 25  # the url_map was read: cases, tasks, records, audit, API …
    leaks = []
    for name in A_USERS:
        web = Web(app)
        web.login(name)
        for endpoint, method, rule in rules:
            status, body = _ask(app, api, web, name, method, _url(endpoint, rule, theirs))
            shown = both.b.reference in body or both.b.title in body
            if status == 404 and not shown:
                continue
            # A refusal that has nothing to do with the id (the role may not use the route
            # at all) is the same for the user's own county's ids.
            own, _ = _ask(app, api, web, name, method, _url(endpoint, rule, ours))
            if status == own and status in {400, 401, 403, 405, 422} and not shown:
                continue
            leaks.append((name, method, rule, status, own, shown))
    assert leaks == [], "\n".join(map(str, leaks))
    assert _fingerprint(app, both.b.id) == untouched


def test_lists_search_and_dashboard_leave_other_counties_out(
        app: Flask, both: TwoCounties) -> None:
    mine, wide = Web(app), Web(app)
    mine.login("lingdao")
    wide.login("zhou")
    for path in ("/cases", "/dashboard", "/dashboard/items", "/tasks"):
        page = mine.text(path)
        assert both.b.title not in page and both.b.reference not in page, path
    for q in (both.b.reference, both.b.title):
        found = mine.text("/cases", query_string={"q": q})
        assert '<b id="total">0</b>' in found and both.b.title not in found.split("</form>")[-1]
    assert both.a.title in mine.text("/cases")
    everyone = wide.text("/cases")
    assert both.a.title in everyone and both.b.title in everyone
    fgj = Web(app)
    fgj.login("fgj")
    tasks = fgj.text("/tasks")
    assert both.a.title in tasks and both.b.title not in tasks


def test_the_reports_page_lists_each_countys_own(app: Flask, both: TwoCounties) -> None:
    from server.services.report_books import prepare

    with app.app_context():
        for county in (both.a.county, both.b.county):
            prepare("monthly", "2026-11", actor="test", county=county)
        from server.extensions import db

        db.session.remove()
    mine, wide = Web(app), Web(app)
    mine.login("lingdao")
    wide.login("zhou")
    assert mine.text("/reports").count('data-report="monthly-2026-11"') == 1
    everyone = wide.text("/reports")
    assert everyone.count('data-report="monthly-2026-11"') == 2
    assert "大姚县" in everyone and "姚安县" in everyone


def test_the_api_lists_only_the_users_county(api: Api, both: TwoCounties) -> None:
    assert {t["case_id"] for t in api.tasks("fgj")} == {both.a.id}
    assert {t["case_id"] for t in api.tasks("zhou_fgj")} == {both.a.id, both.b.id}
    assert api.get(f"/cases/{both.b.id}", "zhaoshang").status_code == 404
    assert api.get(f"/cases/{both.b.id}", "zhou").status_code == 200
    assert api.get(f"/tasks/{both.b.tasks['dept_fgj']}", "fgj").status_code == 404


def test_audit_pages_and_exports_keep_to_the_auditors_county(
        app: Flask, both: TwoCounties) -> None:
    auditor = Web(app)
    auditor.login("shenji")
    listed = auditor.text("/audit/")
    assert both.a.reference in listed and both.b.reference not in listed
    exported = auditor.text("/audit/export.csv")
    assert both.a.id in exported and both.b.id not in exported
    asked = auditor.get(f"/audit/export.csv?case={both.b.id}")
    assert asked.status_code == 404


def test_the_admin_page_shows_and_sets_a_users_county(app: Flask) -> None:
    from tests.helpers.tenancy import make_counties

    make_counties(app)
    admin = Web(app)
    admin.login("zhou_admin")  # the prefecture's: a county's administrator has only theirs
    form = admin.text("/admin/users/new")
    assert "所属县" in form and "姚安县" in form and "州(市)级：所有县" in form
    saved = admin.post("/admin/users/new", {
        "username": "yaoan_clerk", "display_name": "姚安办事员", "password": "Str0ng-Passw0rd!x",
        "groups": "bureau", "county": "yaoan", "active": "on"}, token_from="/admin/users/new")
    assert saved.status_code == 302, saved.get_data(as_text=True)[:400]
    listed = admin.text("/admin/users")
    row = next(r for r in listed.split("<tr") if ">yaoan_clerk</a>" in r)
    assert "姚安县" in row
    wrong = admin.post("/admin/users/new", {
        "username": "nowhere_clerk", "display_name": "无县", "password": "Str0ng-Passw0rd!x",
        "groups": "bureau", "county": "nowhere", "active": "on"}, token_from="/admin/users/new")
    assert wrong.status_code == 422 and "未知的县" in wrong.get_data(as_text=True)
    admin.get("/lang/en")
    english = admin.text("/admin/users/new")
    assert "County" in english and "Prefecture: every county" in english
