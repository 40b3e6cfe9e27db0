"""Counties as tenants (issue 21): a user of one county never sees, counts, is offered or is
told about another county's cases; a prefecture user sees both. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Case, User
from tests.conftest import Api, table_counts
from tests.helpers.cli import point_cli_at
from tests.helpers.notices import told
from tests.helpers.tenancy import A, B, TwoCounties, make_counties, two_counties


@pytest.fixture
def both(app: Flask, api: Api) -> TwoCounties:
    return two_counties(app, api)


def user(name: str) -> User:
    found = db.session.execute(select(User).where(User.username == name)).scalar_one()
    return found  # type: ignore[no-any-return]


def test_a_case_belongs_to_its_filers_county(both: TwoCounties) -> None:
    assert both.a.county == A and both.b.county == B


def test_a_county_user_cannot_file_for_another_county(app: Flask) -> None:
    # A start form with a county field (the shipped ones have none: the filer's county is
    # the case's) may not name another county than the filer's own.
    from server.services.errors import ValidationFailedError
    from server.services.tenancy import filing_county

    make_counties(app)
    with app.app_context():
        with pytest.raises(ValidationFailedError) as refused:
            filing_county(user("qiye"), B)
        assert "county" in refused.value.errors and "dayao" in str(refused.value)
        assert filing_county(user("qiye"), None) == A
        assert filing_county(user("zhou"), B) == B
        assert filing_county(user("zhou"), None) is None  # the default county, as before


def test_task_lists_offer_only_the_users_county(both: TwoCounties, api: Api) -> None:
    def open_ids(name: str) -> set[str]:
        return {t["id"] for t in api.tasks(name)}

    assert open_ids("fgj") == {both.a.tasks["dept_fgj"]}
    assert open_ids("b_fgj") == {both.b.tasks["dept_fgj"]}
    # The prefecture's 发改委 is offered both counties' items.
    assert open_ids("zhou_fgj") == {both.a.tasks["dept_fgj"], both.b.tasks["dept_fgj"]}


def test_another_countys_case_and_task_are_not_found(app: Flask, both: TwoCounties) -> None:
    from server.services.cases import get_case
    from server.services.errors import NotFoundError
    from server.services.tasks import claim_task, complete_task, get_work_item, save_draft

    with app.app_context():
        for name in ("zhaoshang", "lingdao", "fgj", "shenji", "admin"):
            with pytest.raises(NotFoundError):
                get_case(user(name), both.b.id)
            with pytest.raises(NotFoundError):
                get_work_item(user(name), both.b.tasks["dept_fgj"])
        db.session.rollback()  # table_counts reads in a context (a session) of its own
        before = table_counts(app)
        for action in (lambda u, t: complete_task(u, t, {"outcome": "approved"}),
                       lambda u, t: claim_task(u, t), lambda u, t: save_draft(u, t, {"x": 1})):
            with pytest.raises(NotFoundError):
                action(user("fgj"), both.b.tasks["dept_fgj"])
        db.session.rollback()
        assert table_counts(app) == before
        # The prefecture sees both; each county its own.
        assert get_case(user("zhou"), both.b.id).id == both.b.id
        assert get_case(user("zhou"), both.a.id).id == both.a.id
        assert get_case(user("b_lingdao"), both.b.id).id == both.b.id


def test_case_lists_and_search_keep_to_the_county(app: Flask, both: TwoCounties) -> None:
    from server.services.case_search import CaseQuery, visible_cases

    with app.app_context():
        def listed(name: str, q: str = "") -> set[str]:
            return {c.id for c in visible_cases(user(name), query=CaseQuery(q=q))[0]}

        assert listed("lingdao") == {both.a.id}
        assert listed("b_lingdao") == {both.b.id}
        assert listed("zhou") == {both.a.id, both.b.id}
        assert listed("lingdao", "姚安文旅") == set()
        assert listed("lingdao", both.b.reference) == set()
        assert listed("zhou", "姚安文旅") == {both.b.id}
        assert visible_cases(user("lingdao"))[1] == 1


def test_dashboard_counts_exclude_other_counties(app: Flask, both: TwoCounties) -> None:
    from server.services.dashboard import ItemFilter, filtered_page, overview

    with app.app_context():
        mine, theirs, everyone = (overview(user(n)) for n in ("lingdao", "b_lingdao", "zhou"))
        assert (mine.items_total, theirs.items_total, everyone.items_total) == (2, 2, 4)
        assert (mine.projects_total, everyone.projects_total) == (1, 2)
        assert mine.trends[-1].new == 1 and everyone.trends[-1].new == 2
        page, total = filtered_page(user("lingdao"), ItemFilter(), 1, 50)
        assert total == 2 and {i.case_id for i in page} == {both.a.id}


def test_group_notices_reach_only_the_cases_county_and_the_prefecture(
        app: Flask, both: TwoCounties) -> None:
    with app.app_context():
        reached = told(lambda n: n.case_id == both.b.id and n.kind == "new_task")
        assert {"b_zhaoshang", "b_fgj", "b_zrzy", "zhou_fgj"} <= reached
        assert not reached & {"zhaoshang", "fgj", "zrzy", "lingdao"}


def test_reassignment_offers_only_the_cases_county(app: Flask, both: TwoCounties) -> None:
    from server.models import WorkItem
    from server.services.tasks import eligible_assignees

    with app.app_context():
        item = db.session.get(WorkItem, both.b.tasks["dept_fgj"])
        assert set(eligible_assignees(item)) == {"b_fgj", "zhou_fgj"}


def test_admin_sets_a_users_county_with_an_audit_event(app: Flask) -> None:
    from server.services.accounts import PREFECTURE, save_user
    from server.services.errors import ValidationFailedError

    make_counties(app)
    with app.app_context():
        # The prefecture's administrator (大姚's, the seeded ``admin``, keeps to 大姚).
        created = save_user(user("zhou_admin"), user_id=None, username="new_clerk",
                            display_name="新办事员", password="Str0ng-Passw0rd!x",
                            groups=["bureau"])
        assert created.county == A  # a new user is never prefecture-wide by omission
        with pytest.raises(ValidationFailedError) as not_theirs:
            save_user(user("admin"), user_id=created.id, username="new_clerk",
                      display_name="新办事员", password="", groups=["bureau"], county=B)
        assert "county" in not_theirs.value.errors
        moved = save_user(user("zhou_admin"), user_id=created.id, username="new_clerk",
                          display_name="新办事员", password="", groups=["bureau"], county=B)
        assert moved.county == B
        wide = save_user(user("zhou_admin"), user_id=created.id, username="new_clerk",
                         display_name="新办事员", password="", groups=["bureau"],
                         county=PREFECTURE)
        assert wide.county is None
        events = [e.payload for e in db.session.execute(select(AuditEvent).where(
            AuditEvent.type == "user_county_changed")).scalars()]
        assert [(p["old"], p["new"]) for p in events] == [(None, A), (A, B), (B, None)]
        with pytest.raises(ValidationFailedError) as bad:
            save_user(user("zhou_admin"), user_id=created.id, username="new_clerk",
                      display_name="新办事员", password="", groups=["bureau"], county="nowhere")
        assert "county" in bad.value.errors


def test_cases_without_a_county_belong_to_the_default_county(app: Flask, api: Api) -> None:
    # An upgraded single-county installation: its cases name no county, its users the default.
    start = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "升级前的案件", "investment_wan": 1, "items": []}})
    assert start.status_code == 201
    make_counties(app)
    with app.app_context():
        row = db.session.get(Case, start.json["id"])
        assert row is not None and row.county is None
        from server.services.case_search import visible_cases

        assert [c.id for c in visible_cases(user("lingdao"))[0]] == [row.id]
        assert visible_cases(user("b_lingdao"))[0] == []




def test_complaints_stay_in_their_county(app: Flask, both: TwoCounties) -> None:
    from server.services.complaints import file_complaint, visible_complaints
    from server.services.errors import ValidationFailedError

    with app.app_context():
        filed = file_complaint(user("qiye_b"), {"subject": "case", "case": both.b.reference,
                                                "content": "办理太慢"})
        assert filed.county == B
        assert [c.id for c, _ in visible_complaints(user("b_ducha"))] == [filed.id]
        assert visible_complaints(user("ducha")) == []
        reached = told(lambda n: (n.dedupe_key or "").startswith(f"complaint:{filed.id}:"))
        assert "b_ducha" in reached and "ducha" not in reached
        # 大姚's window cannot name 姚安's case: it is unknown there.
        with pytest.raises(ValidationFailedError) as unknown:
            file_complaint(user("zhuanchuang"), {
                "subject": "case", "case": both.b.reference, "content": "越界",
                "channel": "phone", "complainant_name": "某人", "complainant_phone": "1"})
        assert "case" in unknown.value.errors
        db.session.rollback()


def test_a_bulk_claim_names_nothing_of_another_county(app: Flask, both: TwoCounties) -> None:
    from server.services.worklist import claim_many

    with app.app_context():
        theirs = both.b.tasks["dept_fgj"]
        outcome = claim_many(user("fgj"), [theirs, both.a.tasks["dept_fgj"]])
        assert outcome.claimed == [both.a.tasks["dept_fgj"]]
        assert outcome.refused == [(theirs, theirs, "任务不存在 / no such task")]


def test_an_enterprise_sees_its_own_cases_in_every_county(app: Flask, both: TwoCounties) -> None:
    # 企业甲 (its people in 大姚) also invests in 姚安: 姚安's bureau files that case.
    from server.models import Enterprise
    from server.services.case_search import visible_cases
    from server.services.cases import get_case, start_case
    from server.services.errors import NotFoundError

    with app.app_context():
        own = db.session.execute(select(Enterprise).where(Enterprise.name == "企业甲")).scalar_one()
        filed = start_case(user("b_zhaoshang"), "parallel_case", {
            "project_name": "企业甲姚安分厂", "investment_wan": 5000, "items": []},
            for_enterprise=own)
        assert filed.county == B
        assert get_case(user("qiye"), filed.id).id == filed.id
        assert {c.id for c in visible_cases(user("qiye"))[0]} == {both.a.id, filed.id}
        # A step of the enterprise's on it is in its task list, wherever the case is.
        from server.models import WorkItem, WorkItemGroup
        from server.services.tasks import TaskFilter, list_tasks

        db.session.add(WorkItem(id="ent-step-b", case_id=filed.id, element_id="sign_plan",
                                name="企业确认服务方案", candidate_groups="enterprise", county=B))
        db.session.add(WorkItemGroup(work_item_id="ent-step-b", group_code="enterprise",
                                     county=B))
        db.session.commit()
        assert [i.id for i in list_tasks(user("qiye"), TaskFilter()).items] == ["ent-step-b"]
        assert list_tasks(user("qiye_b"), TaskFilter()).items == []
        # Not 企业乙's case in 姚安, and not for 大姚's staff.
        with pytest.raises(NotFoundError):
            get_case(user("qiye"), both.b.id)
        with pytest.raises(NotFoundError):
            get_case(user("lingdao"), filed.id)


def test_each_county_keeps_its_own_reports(app: Flask, both: TwoCounties) -> None:
    from datetime import date

    from server.engine import clock
    from server.services import report_books
    from server.services.errors import NotFoundError
    from server.services.task_rows import calendar

    with app.app_context():
        made = report_books.prepare_due(date(2026, 12, 1))
        # Each county's own, and the prefecture's monthly table with the counties compared.
        assert sorted({r.county for r in made}) == ["*", A, B]
        month = calendar().local_date(clock.now()).strftime("%Y-%m")
        ours = report_books.prepare_by(user("zhaoshang"), "monthly", month)
        theirs = report_books.prepare_by(user("b_zhaoshang"), "monthly", month)
        assert (ours.county, theirs.county) == (A, B)
        assert [r["case_id"] for r in ours.figures["rows"]] == [both.a.id]
        assert [r["case_id"] for r in theirs.figures["rows"]] == [both.b.id]
        assert ours.figures["summary"]["new"] == 1
        assert {r.county for r in report_books.listing(user("lingdao"))} == {A}
        assert {r.county for r in report_books.listing(user("zhou"))} == {"*", A, B}
        with pytest.raises(NotFoundError):
            report_books.get(user("lingdao"), theirs.id)
        assert report_books.get(user("zhou"), theirs.id).id == theirs.id


def test_the_command_line_moves_a_user_between_counties(
        app: Flask, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from server.cli import main

    make_counties(app)
    point_cli_at(app, tmp_path, monkeypatch)
    runner = CliRunner()
    moved = runner.invoke(main, ["user-county", "zhaoshang", B])
    assert moved.exit_code == 0 and "zhaoshang: yaoan" in moved.output
    wide = runner.invoke(main, ["user-county", "zhaoshang", "*"])
    assert wide.exit_code == 0 and "prefecture" in wide.output
    before = table_counts(app)
    unknown = runner.invoke(main, ["user-county", "zhaoshang", "nowhere"])
    assert unknown.exit_code == 1 and "nowhere" in unknown.output
    assert runner.invoke(main, ["user-county", "nobody", B]).exit_code == 1
    assert table_counts(app) == before
    with app.app_context():
        assert user("zhaoshang").county is None
        moves = [e.payload for e in db.session.execute(select(AuditEvent).where(
            AuditEvent.type == "user_county_changed")).scalars()]
        assert [(m["old"], m["new"]) for m in moves] == [(A, B), (B, None)]


def test_the_reserve_keeps_to_the_recording_county(make_app: Any) -> None:
    from server.services.reserve import ReserveQuery, list_projects, record_project
    from tests.web.dashboard_seed import shipped_app

    app = shipped_app(make_app)  # the shipped application form names the towns
    make_counties(app)
    with app.app_context():
        theirs = record_project(user("b_zhaoshang"), {
            "name": "姚安光伏项目", "investor": "某能源集团", "industry": "energy",
            "area": "金碧镇", "investment_wan": "30000", "leader": "b_lingdao",
            "department": "dept_fgj", "liaison": "b_zhaoshang"})
        assert theirs.county == B
        assert [p.id for p in list_projects(user("b_zhaoshang"), ReserveQuery())] == [theirs.id]
        assert list_projects(user("zhaoshang"), ReserveQuery()) == []
        assert [p.id for p in list_projects(user("zhou"), ReserveQuery())] == [theirs.id]
