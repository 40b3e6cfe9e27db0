"""counties: office hours, light thresholds, Art. 32 mode and local days off per county

Revision ID: 0009_counties
Revises: 0007_calendar
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_counties"
down_revision = "0007_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counties",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("prefecture", sa.String(50), nullable=False),
        sa.Column("office_hours", sa.Text(), nullable=False),
        sa.Column("light_share_percent", sa.Integer(), nullable=False),
        sa.Column("light_min_days", sa.Integer(), nullable=False),
        sa.Column("art32_mode", sa.String(10), nullable=False),
        sa.Column("late_call_grace_minutes", sa.Integer(), nullable=False),
        sa.Column("publicity_cap_days", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    for table in ("calendar_years", "calendar_days"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("county", sa.String(20), nullable=True))
            batch.create_index(f"ix_{table}_county", ["county"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("county", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("county")
    for table in ("calendar_days", "calendar_years"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_county")
            batch.drop_column("county")
    op.drop_table("counties")
