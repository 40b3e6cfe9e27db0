"""notices stored once per audience, read marks per person (issue 18): ``notices.users``,
``notices.groups``, ``notices.county``

A notice now carries its audience (the users named; the groups meant, in ``county``) and a
person's inbox is the notices whose audience includes them. A ``notifications`` row is kept
only for what is one person's own: a read mark, a mail delivery. Existing notices keep
exactly the people they reached (named in ``users``); their rows that were neither read nor
mailed go. A step's new-task notice is written without words (rendered from its task and
case), without its case (its task's) and without a key (its task's ``work_items`` row,
written with it, makes it one per task): the key's unique index holds only the notices that
have one.

Revision ID: 0031_notice_audience
Revises: 0030_county_towns
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0031_notice_audience"
down_revision = "0030_county_towns"
branch_labels = None
depends_on = None

KEYED = sa.text("dedupe_key IS NOT NULL")
PEOPLE = ("id", "notice_id", "username", "read_at", "email_state", "email_to", "emailed_at")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("notices", sa.Column("users", sa.Text(), nullable=True))
    op.add_column("notices", sa.Column("groups", sa.String(500), nullable=True))
    op.add_column("notices", sa.Column("county", sa.String(20), nullable=True))
    everyone = ("group_concat(username, ' ')" if sqlite
                else "string_agg(username, ' ' ORDER BY username)")
    op.execute(f"UPDATE notices SET users = (SELECT {everyone} FROM notifications "
               "WHERE notifications.notice_id = notices.id)")
    op.execute("DELETE FROM notifications WHERE read_at IS NULL AND email_state = 'none'")
    op.drop_index("ix_notifications_user_read", table_name="notifications")
    _rebuild_notices(sqlite, lambda batch: _loosen(batch))
    op.create_index("uq_notices_dedupe_key", "notices", ["dedupe_key"], unique=True,
                    sqlite_where=KEYED, postgresql_where=KEYED)


def _loosen(batch: Any) -> None:
    batch.drop_constraint("uq_notices_dedupe_key", type_="unique")
    batch.alter_column("title", existing_type=sa.String(300), nullable=True)
    batch.alter_column("body", existing_type=sa.Text(), nullable=True)
    batch.alter_column("dedupe_key", existing_type=sa.String(200), nullable=True)


def _rebuild_notices(sqlite: bool, change: Any) -> None:
    """Alter ``notices``; on SQLite the table is copied and dropped, and dropping it would
    delete its ``notifications`` rows (ON DELETE CASCADE, foreign keys on): they are kept
    aside and put back."""
    columns = ", ".join(PEOPLE)
    if sqlite:
        op.execute(f"CREATE TEMPORARY TABLE kept_notifications AS SELECT {columns} "
                   "FROM notifications")
    with op.batch_alter_table("notices") as batch:
        change(batch)
    if sqlite:
        op.execute("DELETE FROM notifications")
        op.execute(f"INSERT INTO notifications ({columns}) SELECT {columns} "
                   "FROM kept_notifications")
        op.execute("DROP TABLE kept_notifications")


def downgrade() -> None:
    """Back to a row per recipient: each notice's audience as its members are now."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    bind.execute(sa.text("UPDATE notices SET case_id = (SELECT case_id FROM work_items w "
                         "WHERE w.id = notices.task_id) WHERE case_id IS NULL"))
    have = {(u, n) for n, u in bind.execute(sa.text(
        "SELECT notice_id, username FROM notifications"))}
    members: dict[str, set[tuple[str, str | None]]] = {}
    for username, code, county in bind.execute(sa.text(
            "SELECT u.username, g.group_code, u.county FROM users u "
            "JOIN user_groups g ON g.user_id = u.id WHERE u.active")):
        members.setdefault(code, set()).add((username, county))
    enterprise_of: dict[str, int] = dict(bind.execute(sa.text(
        "SELECT c.id, c.enterprise_id FROM cases c WHERE c.enterprise_id IS NOT NULL")).all())
    enterprise_people: dict[int, set[str]] = {}
    for username, enterprise_id in bind.execute(sa.text(
            "SELECT username, enterprise_id FROM users WHERE enterprise_id IS NOT NULL")):
        enterprise_people.setdefault(enterprise_id, set()).add(username)
    rows = []
    for notice_id, users, groups, county, case_id in bind.execute(sa.text(
            "SELECT id, users, groups, county, case_id FROM notices")):
        people = set((users or "").split())
        for code in (groups or "").split():
            if code == "enterprise":
                people |= ({u for u, _ in members.get(code, set())}
                           & enterprise_people.get(enterprise_of.get(case_id, -1), set()))
            else:
                people |= {u for u, c in members.get(code, set())
                           if county is None or c in (None, county)}
        rows += [{"notice_id": notice_id, "username": u} for u in sorted(people)
                 if (u, notice_id) not in have]
    if rows:
        bind.execute(sa.text("INSERT INTO notifications (notice_id, username, email_state) "
                             "VALUES (:notice_id, :username, 'none')"), rows)
    # The words of the notices that had none, and a key for each.
    bind.execute(sa.text(
        "UPDATE notices SET title = '新任务：' || coalesce((SELECT name FROM work_items w "
        "WHERE w.id = notices.task_id), '') || '（' || (SELECT title FROM cases c "
        "WHERE c.id = notices.case_id) || '）', body = '案件 ' || (SELECT reference "
        "FROM cases c WHERE c.id = notices.case_id) || ' 有一项新任务“' || coalesce(("
        "SELECT name FROM work_items w WHERE w.id = notices.task_id), '') || '”等待办理。' "
        "WHERE title IS NULL"))
    bind.execute(sa.text("UPDATE notices SET dedupe_key = 'new_task:' || task_id "
                         "WHERE dedupe_key IS NULL"))
    op.drop_index("uq_notices_dedupe_key", table_name="notices")

    def tighten(batch: Any) -> None:
        batch.alter_column("title", existing_type=sa.String(300), nullable=False)
        batch.alter_column("body", existing_type=sa.Text(), nullable=False)
        batch.alter_column("dedupe_key", existing_type=sa.String(200), nullable=False)
        batch.create_unique_constraint("uq_notices_dedupe_key", ["dedupe_key"])
        batch.drop_column("county")
        batch.drop_column("groups")
        batch.drop_column("users")

    _rebuild_notices(sqlite, tighten)
    op.create_index("ix_notifications_user_read", "notifications", ["username", "read_at"])
