"""policies: policy push with read receipts (seed 000 §二(五))

Revision ID: 0020_policies
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_policies"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("document_no", sa.String(100), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("file_url", sa.String(500), nullable=False),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("min_investment_wan", sa.Numeric(14, 2)),
        sa.Column("max_investment_wan", sa.Numeric(14, 2)),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_until", sa.Date()),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.String(80)),
        sa.Column("published_at", sa.DateTime()),
    )
    op.create_table(
        "policy_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("policy_id", sa.Integer(), sa.ForeignKey("policies.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("audience", sa.String(20), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprises.id")),
        sa.Column("username", sa.String(80)),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="SET NULL")),
        sa.Column("delivered_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime()),
        sa.Column("read_by", sa.String(80)),
    )
    op.create_index("ix_policy_deliveries_policy", "policy_deliveries", ["policy_id"])
    op.create_index("ix_policy_deliveries_enterprise", "policy_deliveries", ["enterprise_id"])
    op.create_index("ix_policy_deliveries_username", "policy_deliveries", ["username"])


def downgrade():
    op.drop_index("ix_policy_deliveries_username", "policy_deliveries")
    op.drop_index("ix_policy_deliveries_enterprise", "policy_deliveries")
    op.drop_index("ix_policy_deliveries_policy", "policy_deliveries")
    op.drop_table("policy_deliveries")
    op.drop_table("policies")
