"""policies: policy push with read receipts (seed 000 §二(五)); the intermediary market (004 附件6)

Revision ID: 0020_policies
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_policies"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_table(
        "intermediary_services",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("limit_days", sa.Integer(), nullable=False),
        sa.Column("fee_standard", sa.Text(), nullable=False),
        sa.Column("regulator", sa.String(200), nullable=False),
        sa.Column("complaint_phone", sa.String(50), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("phone", sa.String(50), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "agency_registrations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agencies.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("service_id", sa.Integer(),
                  sa.ForeignKey("intermediary_services.id", ondelete="CASCADE"), nullable=False),
        sa.Column("qualification", sa.String(300), nullable=False),
        sa.Column("certificate_no", sa.String(100), nullable=False),
        sa.Column("valid_until", sa.Date()),
        sa.Column("registered_by", sa.String(80), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("agency_id", "service_id",
                            name="uq_agency_registrations_agency_service"),
    )
    op.create_table(
        "agency_engagements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("item_code", sa.String(100), nullable=False),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("intermediary_services.id"),
                  nullable=False),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("chosen_by", sa.String(80), nullable=False),
        sa.Column("chosen_at", sa.DateTime(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("delivered_on", sa.Date()),
        sa.Column("rating", sa.Integer()),
        sa.Column("rating_comment", sa.Text(), nullable=False),
        sa.Column("complaint", sa.Text(), nullable=False),
        sa.Column("rated_by", sa.String(80)),
        sa.Column("rated_at", sa.DateTime()),
        sa.UniqueConstraint("case_id", "item_code", "service_id",
                            name="uq_agency_engagements_case_item_service"),
    )
    op.create_index("ix_agency_engagements_case", "agency_engagements", ["case_id"])
    op.create_index("ix_agency_engagements_agency", "agency_engagements", ["agency_id"])


def downgrade() -> None:
    op.drop_index("ix_agency_engagements_agency", "agency_engagements")
    op.drop_index("ix_agency_engagements_case", "agency_engagements")
    op.drop_table("agency_engagements")
    op.drop_table("agency_registrations")
    op.drop_table("agencies")
    op.drop_table("intermediary_services")
    op.drop_index("ix_policy_deliveries_username", "policy_deliveries")
    op.drop_index("ix_policy_deliveries_enterprise", "policy_deliveries")
    op.drop_index("ix_policy_deliveries_policy", "policy_deliveries")
    op.drop_table("policy_deliveries")
    op.drop_table("policies")
