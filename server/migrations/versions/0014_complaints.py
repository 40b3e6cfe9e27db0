"""complaints: 投诉举报 handled by the supervision office, and each county's complaint limit

Revision ID: 0014_complaints
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_complaints"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("county", sa.String(20), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprises.id"), nullable=True),
        sa.Column("complainant_name", sa.String(100), nullable=False),
        sa.Column("complainant_phone", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(80), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("handling_days", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("referred_at", sa.DateTime(), nullable=True),
        sa.Column("department_answer", sa.Text(), nullable=False),
        sa.Column("answered_by_department", sa.String(80), nullable=True),
        sa.Column("department_answered_at", sa.DateTime(), nullable=True),
        sa.Column("investigation", sa.Text(), nullable=False),
        sa.Column("result", sa.String(20), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("satisfaction", sa.String(20), nullable=True),
        sa.Column("satisfaction_note", sa.Text(), nullable=False),
        sa.Column("rated_by", sa.String(80), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_complaints_enterprise_id", "complaints", ["enterprise_id"])
    op.create_index("ix_complaints_case_id", "complaints", ["case_id"])
    op.create_index("ix_complaints_department", "complaints", ["department"])
    op.create_index("ix_complaints_status", "complaints", ["status"])
    op.create_table(
        "complaint_settings",
        sa.Column("county", sa.String(20), primary_key=True),
        sa.Column("handling_days", sa.Integer(), nullable=False),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("complaint_settings")
    for name in ("status", "department", "case_id", "enterprise_id"):
        op.drop_index(f"ix_complaints_{name}", "complaints")
    op.drop_table("complaints")
