"""A work item carries its case's county (0028_work_item_county, issue 21): set when the item
is written, for the cases of two counties and of the default county (NULL), also for the items
a case opens later (its parallel departments' tasks); and the migration fills it in for the
rows an installation already has."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import Case, User, WorkItem, WorkItemGroup
from server.services.tasks import TaskFilter, list_tasks
from tests.conftest import Api
from tests.helpers.migrations import migration_module
from tests.helpers.tenancy import A, B, run_case, two_counties


def migration() -> ModuleType:
    return migration_module("0028_work_item_county.py")


def test_every_item_and_group_row_has_its_cases_county(app: Flask, api: Api) -> None:
    # Filed before the installation had counties: the case names none (the default county).
    old = run_case(api, enterprise="qiye", bureau="zhaoshang", fgj="fgj", zrzy="zrzy",
                   title="升级前的案件")
    both = two_counties(app, api)
    assert old.county == ""
    with app.app_context():
        for case_id, county in ((old.id, None), (both.a.id, A), (both.b.id, B)):
            case = db.session.get(Case, case_id)
            assert case is not None and case.county == county
            items = db.session.execute(
                select(WorkItem.element_id, WorkItem.county).where(WorkItem.case_id == case_id)
            ).all()
            # The bureau's review at filing, each department's task sheet after it, and the
            # departments' handling tasks opened later still: all of the case's county.
            assert {e for e, _ in items} >= {"review", "take_sheet", "handle_item"}
            assert {c for _, c in items} == {county}
            groups = db.session.execute(
                select(WorkItemGroup.county).join(
                    WorkItem, WorkItem.id == WorkItemGroup.work_item_id)
                .where(WorkItem.case_id == case_id)).scalars().all()
            assert groups and set(groups) == {county}
        # The default county's department is offered its old case's task and its own; the
        # other county's only its own.
        fgj = db.session.execute(select(User).where(User.username == "fgj")).scalar_one()
        b_fgj = db.session.execute(select(User).where(User.username == "b_fgj")).scalar_one()
        handling = TaskFilter(scope="groups", per_page=50)
        assert {i.id for i in list_tasks(fgj, handling).items
                if i.element_id == "handle_item"} == {old.tasks["dept_fgj"],
                                                      both.a.tasks["dept_fgj"]}
        assert {i.id for i in list_tasks(b_fgj, handling).items
                if i.element_id == "handle_item"} == {both.b.tasks["dept_fgj"]}


def test_the_migration_fills_in_existing_rows_and_keeps_the_index_count(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'before.db'}")
    meta = sa.MetaData()
    sa.Table("cases", meta, sa.Column("id", sa.String(36), primary_key=True),
             sa.Column("county", sa.String(20)))
    sa.Table("work_items", meta, sa.Column("id", sa.String(36), primary_key=True),
             sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), index=True),
             sa.Column("element_id", sa.String(200)), sa.Column("state", sa.String(20)),
             sa.Column("due_at", sa.DateTime()),
             sa.Index("ix_work_items_state_due", "state", "due_at"),
             sa.Index("ix_work_items_element_state_due", "element_id", "state", "due_at",
                      "case_id"))
    sa.Table("work_item_groups", meta,
             sa.Column("work_item_id", sa.String(36), sa.ForeignKey("work_items.id"),
                       primary_key=True),
             sa.Column("group_code", sa.String(64), primary_key=True),
             sa.Column("state", sa.String(20)),
             sa.Index("ix_work_item_groups_code_state", "group_code", "state"))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO cases VALUES ('c-a', 'dayao'), ('c-b', 'yaoan'), "
                             "('c-old', NULL)"))
        conn.execute(sa.text(
            "INSERT INTO work_items (id, case_id, element_id, state) VALUES "
            "('i-a', 'c-a', 'handle_item', 'ready'), ('i-b', 'c-b', 'handle_item', 'completed'),"
            " ('i-old', 'c-old', 'review', 'ready')"))
        conn.execute(sa.text(
            "INSERT INTO work_item_groups VALUES ('i-a', 'dept_fgj', 'ready'), "
            "('i-b', 'dept_fgj', 'completed'), ('i-b', 'dept_zrzy', 'completed'), "
            "('i-old', 'bureau', 'ready')"))
    before = {t: len(sa.inspect(engine).get_indexes(t)) for t in ("work_items",
                                                                  "work_item_groups")}
    step = migration()
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        step.upgrade()
    with engine.connect() as conn:
        assert dict(conn.execute(sa.text("SELECT id, county FROM work_items")).all()) == {
            "i-a": "dayao", "i-b": "yaoan", "i-old": None}
        assert sorted(conn.execute(sa.text(
            "SELECT work_item_id, group_code, county FROM work_item_groups")).all()) == [
            ("i-a", "dept_fgj", "dayao"), ("i-b", "dept_fgj", "yaoan"),
            ("i-b", "dept_zrzy", "yaoan"), ("i-old", "bureau", None)]
    after = {t: {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes(t)}
             for t in ("work_items", "work_item_groups")}
    # Replaced, not added beside: a write maintains as many indexes as before.
    assert {t: len(found) for t, found in after.items()} == before
    assert after["work_items"]["ix_work_items_element_state_county_due"] == [
        "element_id", "state", "county", "due_at", "case_id"]
    assert after["work_item_groups"]["ix_work_item_groups_code_state_county"] == [
        "group_code", "state", "county"]
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        step.downgrade()
    inspector = sa.inspect(engine)
    assert "county" not in {c["name"] for c in inspector.get_columns("work_items")}
    assert {i["name"] for i in inspector.get_indexes("work_item_groups")} == {
        "ix_work_item_groups_code_state"}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM work_item_groups")).scalar_one() == 4
    engine.dispose()
