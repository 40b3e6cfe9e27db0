"""reports: seed 001's and 004's reports, one row per version, signed off and handed in

Revision ID: 0016_reports
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_reports"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("prepared_by", sa.String(80), nullable=False),
        sa.Column("prepared_at", sa.DateTime(), nullable=False),
        sa.Column("signed_by", sa.String(80)),
        sa.Column("signed_at", sa.DateTime()),
        sa.Column("submitted_by", sa.String(80)),
        sa.Column("submitted_on", sa.Date()),
        sa.Column("submitted_at", sa.DateTime()),
        sa.Column("correction_reason", sa.Text(), nullable=False),
        sa.Column("superseded_by", sa.Integer()),
        sa.UniqueConstraint("kind", "period", "version", name="uq_reports_kind_period_version"),
    )
    op.create_index("ix_reports_due_on", "reports", ["due_on"])


def downgrade() -> None:
    op.drop_index("ix_reports_due_on", "reports")
    op.drop_table("reports")
