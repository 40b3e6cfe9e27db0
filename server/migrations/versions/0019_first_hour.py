"""first hour: the county's internal form fields; each user's saved task-list filters

Revision ID: 0019_first_hour
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_first_hour"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_visibility",
        sa.Column("form_key", sa.String(80), primary_key=True),
        sa.Column("field_key", sa.String(80), primary_key=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_saved_filters_user", "saved_filters", ["username"])


def downgrade() -> None:
    op.drop_index("ix_saved_filters_user", "saved_filters")
    op.drop_table("saved_filters")
    op.drop_table("field_visibility")
