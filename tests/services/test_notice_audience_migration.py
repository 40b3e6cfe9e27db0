"""0031_notice_audience upgrades the notices an installation already has, on both databases:
each notice keeps exactly the people it reached (now named in its audience), their read
marks and mail deliveries stay, the rows that were neither go; and back again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from tests.helpers.migrations import migration_module

SCHEMA = "notice_audience_0031"
PENDING = sa.text("email_state = 'pending'")


@pytest.fixture
def old_engine(database: Any, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database of its own (SQLite: a file with foreign keys on, as the app runs
    it; PostgreSQL: a schema of the test database), dropped after."""
    if database.kind == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'before.db'}")

        @sa.event.listens_for(engine, "connect")
        def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

        yield engine
        engine.dispose()
        return
    admin = sa.create_engine(database.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    engine = sa.create_engine(database.url,
                              connect_args={"options": f"-csearch_path={SCHEMA}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        admin.dispose()


def _old_schema(engine: sa.Engine) -> None:
    """The tables 0031 reads, as 0030 left them."""
    meta = sa.MetaData()
    sa.Table("users", meta, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("username", sa.String(80), unique=True),
             sa.Column("active", sa.Boolean), sa.Column("county", sa.String(20)),
             sa.Column("enterprise_id", sa.Integer))
    sa.Table("user_groups", meta, sa.Column("user_id", sa.Integer, primary_key=True),
             sa.Column("group_code", sa.String(64), primary_key=True))
    sa.Table("cases", meta, sa.Column("id", sa.String(36), primary_key=True),
             sa.Column("reference", sa.String(40)), sa.Column("title", sa.String(300)),
             sa.Column("enterprise_id", sa.Integer))
    sa.Table("work_items", meta, sa.Column("id", sa.String(36), primary_key=True),
             sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id")),
             sa.Column("name", sa.String(300)))
    sa.Table("notices", meta, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("kind", sa.String(20), nullable=False),
             sa.Column("title", sa.String(300), nullable=False),
             sa.Column("body", sa.Text, nullable=False),
             sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE")),
             sa.Column("task_id", sa.String(36)),
             sa.Column("dedupe_key", sa.String(200), nullable=False),
             sa.Column("created_at", sa.DateTime, nullable=False),
             sa.UniqueConstraint("dedupe_key", name="uq_notices_dedupe_key"))
    sa.Table("notifications", meta, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("notice_id", sa.Integer, sa.ForeignKey(
                 "notices.id", ondelete="CASCADE", name="fk_notifications_notice"),
                 nullable=False),
             sa.Column("username", sa.String(80), nullable=False),
             sa.Column("read_at", sa.DateTime), sa.Column("email_state", sa.String(20),
                                                          nullable=False),
             sa.Column("email_to", sa.String(200)), sa.Column("emailed_at", sa.DateTime),
             sa.UniqueConstraint("username", "notice_id", name="uq_notifications_user_notice"),
             sa.Index("ix_notifications_user_read", "username", "read_at"),
             sa.Index("ix_notifications_mail_pending", "id", sqlite_where=PENDING,
                      postgresql_where=PENDING))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, username, active, county) VALUES (1, 'zhaoshang', TRUE, "
            "NULL), (2, 'zs_read', TRUE, NULL), (3, 'zs_mail', TRUE, NULL), "
            "(4, 'lingdao', TRUE, NULL), (5, 'late', TRUE, NULL)"))
        conn.execute(sa.text("INSERT INTO user_groups VALUES (1, 'bureau'), (2, 'bureau'), "
                             "(3, 'bureau'), (4, 'leader'), (5, 'bureau')"))
        conn.execute(sa.text("INSERT INTO cases VALUES ('c1', 'DY-1', '储能基地', NULL)"))
        conn.execute(sa.text("INSERT INTO work_items VALUES ('t1', 'c1', '审核'), "
                             "('t3', 'c1', '领取任务单')"))
        conn.execute(sa.text(
            "INSERT INTO notices VALUES (1, 'new_task', '新任务：审核（储能基地）', "
            "'案件 DY-1 有一项新任务“审核”等待办理。', 'c1', 't1', 'new_task:t1', "
            "'2026-11-02 09:00:00'), (2, 'urging', '催办', '', 'c1', NULL, 'urging:1', "
            "'2026-11-03 09:00:00')"))
        conn.execute(sa.text(
            "INSERT INTO notifications (id, notice_id, username, read_at, email_state, "
            "email_to) VALUES (1, 1, 'zhaoshang', NULL, 'none', NULL), "
            "(2, 1, 'zs_read', '2026-11-02 10:00:00', 'none', NULL), "
            "(3, 1, 'zs_mail', NULL, 'pending', 'mail@example.cn'), "
            "(4, 2, 'lingdao', NULL, 'none', NULL)"))
        if engine.dialect.name == "postgresql":  # rows of a live installation came by its ids
            for table, last in (("notices", 2), ("notifications", 4)):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"{last})"))


def _run(engine: sa.Engine, step: str) -> None:
    module = migration_module("0031_notice_audience.py")
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        getattr(module, step)()


def test_existing_notices_keep_their_people_and_only_marks_and_mail_keep_rows(
        old_engine: sa.Engine) -> None:
    _old_schema(old_engine)
    _run(old_engine, "upgrade")
    with old_engine.connect() as conn:
        audience = {i: (sorted(u.split()), g, c) for i, u, g, c in conn.execute(sa.text(
            "SELECT id, users, groups, county FROM notices"))}
        # Named, not by group: 'late', who is in the bureau too, was never told of it.
        assert audience == {1: (["zhaoshang", "zs_mail", "zs_read"], None, None),
                            2: (["lingdao"], None, None)}
        assert conn.execute(sa.text("SELECT title FROM notices WHERE id = 1")).scalar_one() \
            == "新任务：审核（储能基地）"
        # The read mark and the pending mail stay as they were (the mail task has its id).
        assert sorted(conn.execute(sa.text(
            "SELECT id, username, read_at IS NOT NULL, email_state FROM notifications")
        ).all()) == [(2, "zs_read", True, "none"), (3, "zs_mail", False, "pending")]
    inspector = sa.inspect(old_engine)
    # A read mark is found by the unique (username, notice_id): the read index goes.
    assert {i["name"] for i in inspector.get_indexes("notifications")} - {
        "uq_notifications_user_notice"} == {"ix_notifications_mail_pending"}
    assert {(i["name"], bool(i["unique"])) for i in inspector.get_indexes("notices")} == {
        ("uq_notices_dedupe_key", True)}
    with old_engine.begin() as conn:
        # A step's new-task notices: no words, no key, no case, as many as there are tasks.
        conn.execute(sa.text(
            "INSERT INTO notices (kind, task_id, created_at, groups) VALUES "
            "('new_task', 't3', '2026-11-04 09:00:00', 'bureau'), "
            "('new_task', 't2', '2026-11-04 09:00:00', 'bureau')"))
        # A key still names one notice.
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.execute(sa.text(
                "INSERT INTO notices (kind, title, body, dedupe_key, created_at) "
                "VALUES ('urging', 'x', '', 'urging:1', '2026-11-04 09:00:00')"))
        conn.execute(sa.text("DELETE FROM notices WHERE task_id = 't2'"))

    _run(old_engine, "downgrade")
    with old_engine.connect() as conn:
        people = sorted(conn.execute(sa.text(
            "SELECT notice_id, username FROM notifications")).all())
        # Back to a row per person: the step's notice reaches the bureau as it is now.
        assert people == [(1, "zhaoshang"), (1, "zs_mail"), (1, "zs_read"), (2, "lingdao"),
                          (3, "late"), (3, "zhaoshang"), (3, "zs_mail"), (3, "zs_read")]
        assert conn.execute(sa.text(
            "SELECT title, body, dedupe_key, case_id FROM notices WHERE id = 3")).one() == (
            "新任务：领取任务单（储能基地）", "案件 DY-1 有一项新任务“领取任务单”等待办理。",
            "new_task:t3", "c1")
    assert "users" not in {c["name"] for c in sa.inspect(old_engine).get_columns("notices")}
