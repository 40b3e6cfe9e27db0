"""calendar: holiday notices loaded by administrators (years published, days listed)

Revision ID: 0007_calendar
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_calendar"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("loaded_by", sa.String(80), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
    )
    op.create_index("ix_calendar_years_year", "calendar_years", ["year"])
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("loaded_by", sa.String(80), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_calendar_days_day", "calendar_days", ["day"])


def downgrade() -> None:
    op.drop_index("ix_calendar_days_day", "calendar_days")
    op.drop_table("calendar_days")
    op.drop_index("ix_calendar_years_year", "calendar_years")
    op.drop_table("calendar_years")
