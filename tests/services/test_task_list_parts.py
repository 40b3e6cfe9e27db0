"""The task list read as disjoint parts (issue 18: a million items): every open item a person
may work on is listed once, with the true count, whichever ways it reaches them (offered to
one of their groups alone or among others, claimed by someone else, assigned to them); a
closed item keeps no group rows, and the case list still finds it by department; and
migration 0033_work_item_compact removes closed items' group rows and gives them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import User, WorkItem, WorkItemGroup
from server.services.case_search import CaseQuery, visible_cases
from server.services.tasks import TaskFilter, list_tasks
from tests.conftest import Api
from tests.helpers.migrations import migration_module
from tests.helpers.tenancy import run_case

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def user(name: str) -> User:
    found: User = db.session.execute(select(User).where(User.username == name)).scalar_one()
    return found


def add_item(case_id: str, item_id: str, groups: str, *, due_hours: int | None,
             assignee: str | None = None, claimed_by: str | None = None,
             state: str = "ready") -> None:
    db.session.add(WorkItem(id=item_id, case_id=case_id, element_id="extra", name=item_id,
                            candidate_groups=groups, assignee=assignee, claimed_by=claimed_by,
                            state=state, created_at=NOW,
                            due_at=None if due_hours is None else NOW + timedelta(
                                hours=due_hours)))
    if state == "ready":
        for code in groups.split(","):
            db.session.add(WorkItemGroup(work_item_id=item_id, group_code=code))


def listed(person: User, scope: str, per_page: int = 2) -> list[str]:
    """The person's list page by page: each page reports the same total, and together the
    pages hold that many items, none twice, in the order of the whole list read at once."""
    whole = list_tasks(person, TaskFilter(scope=scope, per_page=200))
    ids: list[str] = []
    for page in range(1, whole.total // per_page + 2):
        found = list_tasks(person, TaskFilter(scope=scope, page=page, per_page=per_page))
        assert found.total == whole.total
        ids += [i.id for i in found.items]
    assert ids == [i.id for i in whole.items] and len(ids) == len(set(ids)) == whole.total
    return [i for i in ids if i.startswith("x-")]


def test_every_open_item_is_listed_once_with_the_true_count(app: Flask, api: Api) -> None:
    case = run_case(api, enterprise="qiye", bureau="zhaoshang", fgj="fgj", zrzy="zrzy",
                    title="列表测试")
    with app.app_context():
        add_item(case.id, "x-alone", "dept_fgj", due_hours=5)
        add_item(case.id, "x-shared", "dept_zrzy,dept_fgj", due_hours=1)
        add_item(case.id, "x-claimed", "dept_fgj", due_hours=2, claimed_by="zrzy")
        add_item(case.id, "x-assigned", "dept_zrzy", due_hours=3, assignee="fgj")
        add_item(case.id, "x-both", "dept_fgj", due_hours=4, assignee="fgj")
        add_item(case.id, "x-undated", "dept_fgj", due_hours=None)
        add_item(case.id, "x-other", "dept_zrzy", due_hours=1)
        add_item(case.id, "x-done", "dept_fgj", due_hours=1, state="completed")
        db.session.commit()
        fgj = user("fgj")
        # Soonest due first, undated last; claimed by someone else: in "all", not "groups";
        # offered to the group and assigned to the person: once.
        assert listed(fgj, "groups") == ["x-shared", "x-both", "x-alone", "x-undated"]
        assert listed(fgj, "all") == ["x-shared", "x-claimed", "x-assigned", "x-both",
                                      "x-alone", "x-undated"]
        assert listed(fgj, "mine", per_page=1) == ["x-assigned", "x-both"]

        # A member of both groups is offered the shared item once (a tie of due moments is
        # ordered by id); the item assigned to fgj is still offered to the groups.
        zrzy = user("zrzy")
        zrzy.groups.append(next(g for g in fgj.groups if g.code == "dept_fgj"))
        db.session.commit()
        assert listed(user("zrzy"), "groups", per_page=3) == [
            "x-other", "x-shared", "x-assigned", "x-both", "x-alone", "x-undated"]


def test_a_closed_item_keeps_no_group_rows_and_the_case_list_finds_it(
        app: Flask, api: Api) -> None:
    case = run_case(api, enterprise="qiye", bureau="zhaoshang", fgj="fgj", zrzy="zrzy",
                    title="关闭后的部门")
    task = case.tasks["dept_fgj"]
    with app.app_context():
        assert db.session.execute(select(WorkItemGroup.group_code).where(
            WorkItemGroup.work_item_id == task)).scalars().all() == ["dept_fgj"]
    done = api.post(f"/tasks/{task}/complete", "fgj", json={"data": {"outcome": "approved"}})
    assert done.status_code == 200, done.json
    with app.app_context():
        item = db.session.get(WorkItem, task)
        assert item is not None and item.state == "completed"
        assert db.session.execute(select(WorkItemGroup).where(
            WorkItemGroup.work_item_id == task)).first() is None
        # The case list's department filter reads the item's own groups, open or closed.
        leader = user("lingdao")
        found, _ = visible_cases(leader, query=CaseQuery(department="dept_fgj"))
        assert case.id in {c.id for c in found}
        found, _ = visible_cases(leader, query=CaseQuery(department="dept_sthj"))
        assert case.id not in {c.id for c in found}


def test_the_migration_removes_closed_items_group_rows_and_gives_them_back(
        tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/before.db")
    meta = sa.MetaData()
    sa.Table("work_items", meta, sa.Column("id", sa.String(36), primary_key=True),
             sa.Column("element_id", sa.String(200)), sa.Column("state", sa.String(20)),
             sa.Column("candidate_groups", sa.String(500)), sa.Column("assignee", sa.String(80)),
             sa.Column("claimed_by", sa.String(80)), sa.Column("county", sa.String(20)),
             sa.Column("due_at", sa.DateTime()), sa.Column("case_id", sa.String(36)),
             sa.Index("ix_work_items_state_due", "state", "due_at"),
             sa.Index("ix_work_items_element_state_county_due", "element_id", "state", "county",
                      "due_at", "case_id"))
    sa.Table("work_item_groups", meta,
             sa.Column("work_item_id", sa.String(36), primary_key=True),
             sa.Column("group_code", sa.String(64), primary_key=True),
             sa.Column("state", sa.String(20)), sa.Column("county", sa.String(20)),
             sa.Index("ix_work_item_groups_code_state_county", "group_code", "state", "county"))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO work_items (id, element_id, state, candidate_groups, county) VALUES "
            "('open', 'e', 'ready', 'dept_fgj', 'dayao'), "
            "('done', 'e', 'completed', 'dept_fgj,dept_zrzy', 'yaoan')"))
        conn.execute(sa.text(
            "INSERT INTO work_item_groups VALUES ('open', 'dept_fgj', 'ready', 'dayao'), "
            "('done', 'dept_fgj', 'completed', 'yaoan'), "
            "('done', 'dept_zrzy', 'completed', 'yaoan')"))
    step = migration_module("0033_work_item_compact.py")
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        step.upgrade()
    rows = "SELECT work_item_id, group_code, state, county FROM work_item_groups"
    with engine.connect() as conn:
        assert conn.execute(sa.text(rows)).all() == [("open", "dept_fgj", "ready", "dayao")]
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("work_items")}
        assert "ix_work_items_open_offers" in indexes
        assert "ix_work_items_state_due" not in indexes
        plan = " ".join(str(r[-1]) for r in conn.execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM work_items WHERE state = 'ready' "
            "AND claimed_by IS NULL AND candidate_groups = 'dept_fgj'")).all())
        assert "ix_work_items_open_offers" in plan
        # The element index holds the queried elements only, and serves their queries.
        plan = " ".join(str(r[-1]) for r in conn.execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT case_id FROM work_items WHERE element_id = "
            "'handle_item' AND state = 'completed'")).all())
        assert "ix_work_items_element_state_county_due" in plan
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        step.downgrade()
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.text(rows)).all()) == [
            ("done", "dept_fgj", "completed", "yaoan"), ("done", "dept_zrzy", "completed", "yaoan"),
            ("open", "dept_fgj", "ready", "dayao")]
        assert "ix_work_item_groups_code_state_county" in {
            i["name"] for i in sa.inspect(conn).get_indexes("work_item_groups")}
    engine.dispose()
