"""handups: approval items a county hands up to a prefecture department (issue 21)

One row per hand-up; the prefecture department's task list reads it by group and state.

Revision ID: 0026_handups
Revises: 0023_speed
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_handups"
down_revision = "0025_county_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handups",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("county_task_id", sa.String(36), nullable=False),
        sa.Column("item_code", sa.String(100), nullable=False),
        sa.Column("item_name", sa.String(300), nullable=False),
        sa.Column("county_department", sa.String(64), nullable=False),
        sa.Column("prefecture_group", sa.String(64), nullable=False),
        sa.Column("limit_days", sa.Integer(), nullable=False),
        sa.Column("limit_kind", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("sent_by", sa.String(80), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_by", sa.String(80), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("approval_number", sa.String(100), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_handups_case_id", "handups", ["case_id"])
    op.create_index("ix_handups_county_task_id", "handups", ["county_task_id"])
    op.create_index("ix_handups_group_state", "handups", ["prefecture_group", "state"])


def downgrade() -> None:
    op.drop_table("handups")
