"""workers: notifications, mail addresses and incidents

Revision ID: 0004_workers
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_workers"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("email_state", sa.String(20), nullable=False),
        sa.Column("email_to", sa.String(200), nullable=True),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("username", "dedupe_key", name="uq_notifications_user_dedupe"),
    )
    op.create_index("ix_notifications_case_id", "notifications", ["case_id"])
    op.create_index("ix_notifications_user_read", "notifications", ["username", "read_at"])
    op.create_index("ix_notifications_email_state", "notifications",
                    ["email_state", "created_at"])
    op.create_table(
        "mail_addresses",
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("address", sa.String(200), nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("task_name", sa.String(200), nullable=False),
        sa.Column("task_args", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(80), nullable=True),
    )
    op.create_index("ix_incidents_case_state", "incidents", ["case_id", "state"])
    op.create_index("ix_incidents_key_state", "incidents", ["key", "state"])


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("mail_addresses")
    op.drop_table("notifications")
