"""notices stored once: a notice's words in ``notices``, a small row per recipient

A 12-task case told four people of each task: 48 rows each carrying the title, body, case,
task, key and time, 22 KB of the 60 KB the case left in SQLite (issue 18). Now a notice is
written once; ``notifications`` keeps per person only the read mark and the mail state.
Existing notices are folded by ``dedupe_key`` (the first row's words are kept).

Indexes only where a query uses them: ``mail_waiting`` looks up ``email_state = 'pending'``
only (a partial index of those replaces the index of every row by state), and nothing looks
notices up by case (cases are never deleted): ``ix_notifications_case_id`` goes.

Revision ID: 0023_speed
Revises: 0022_tenancy
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_speed"
down_revision = "0022_tenancy"
branch_labels = None
depends_on = "0004_workers"  # the notifications table and its indexes

PENDING = sa.text("email_state = 'pending'")
WORDS = ("kind", "title", "body", "case_id", "task_id", "dedupe_key", "created_at")


def upgrade() -> None:
    op.drop_index("ix_notifications_email_state", table_name="notifications")
    op.drop_index("ix_notifications_case_id", table_name="notifications")
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_notices_dedupe_key"),
    )
    columns = ", ".join(WORDS)
    op.execute(f"INSERT INTO notices (id, {columns}) SELECT id, {columns} FROM notifications "
               "WHERE id IN (SELECT min(id) FROM notifications GROUP BY dedupe_key)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('notices', 'id'), "
                   "coalesce((SELECT max(id) FROM notices), 0) + 1, false)")
    op.add_column("notifications", sa.Column("notice_id", sa.Integer(), nullable=True))
    op.execute("UPDATE notifications SET notice_id = (SELECT notices.id FROM notices "
               "WHERE notices.dedupe_key = notifications.dedupe_key)")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_user_dedupe", type_="unique")
        for column in WORDS:
            batch.drop_column(column)
        batch.alter_column("notice_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_notifications_notice", "notices", ["notice_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_unique_constraint("uq_notifications_user_notice",
                                       ["username", "notice_id"])
    op.create_index("ix_notifications_mail_pending", "notifications", ["id"],
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_notifications_mail_pending", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_user_notice", type_="unique")
        batch.drop_constraint("fk_notifications_notice", type_="foreignkey")
        batch.add_column(sa.Column("kind", sa.String(20), nullable=True))
        batch.add_column(sa.Column("title", sa.String(300), nullable=True))
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("case_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("task_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("dedupe_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))
    for column in WORDS:
        op.execute(f"UPDATE notifications SET {column} = (SELECT notices.{column} FROM notices "
                   "WHERE notices.id = notifications.notice_id)")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("notice_id")
        batch.create_unique_constraint("uq_notifications_user_dedupe", ["username", "dedupe_key"])
        batch.create_foreign_key("fk_notifications_case", "cases", ["case_id"], ["id"],
                                 ondelete="CASCADE")
    op.drop_table("notices")
    op.create_index("ix_notifications_case_id", "notifications", ["case_id"])
    op.create_index("ix_notifications_email_state", "notifications",
                    ["email_state", "created_at"])
