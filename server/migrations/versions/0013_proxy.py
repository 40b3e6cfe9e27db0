"""proxy: one-time codes for service on the enterprise's behalf, termination requests decided
by the responsible leader, periodic return visits

Revision ID: 0013_proxy
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_proxy"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proxy_codes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.String(80), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by", sa.String(80), nullable=True),
        sa.Column("used_for_task", sa.String(36), nullable=True),
    )
    op.create_index("ix_proxy_codes_case_id", "proxy_codes", ["case_id"])
    op.create_table(
        "termination_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reason_code", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(80), nullable=False),
        sa.Column("proposed_role", sa.String(40), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
    )
    op.create_index("ix_termination_requests_case_id", "termination_requests", ["case_id"])
    op.create_table(
        "return_visits",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("months_after", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("assignee", sa.String(80), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("enterprise_remarks", sa.Text(), nullable=False),
        sa.Column("visited_on", sa.String(10), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_return_visits_case_id", "return_visits", ["case_id"])
    op.create_index("ix_return_visits_due_at", "return_visits", ["due_at"])
    op.create_index("ix_return_visits_assignee", "return_visits", ["assignee"])
    with op.batch_alter_table("counties") as batch:
        batch.add_column(sa.Column("return_visit_months", sa.String(100), nullable=False,
                                   server_default="1,3,6,12"))


def downgrade() -> None:
    with op.batch_alter_table("counties") as batch:
        batch.drop_column("return_visit_months")
    op.drop_index("ix_return_visits_assignee", "return_visits")
    op.drop_index("ix_return_visits_due_at", "return_visits")
    op.drop_index("ix_return_visits_case_id", "return_visits")
    op.drop_table("return_visits")
    op.drop_index("ix_termination_requests_case_id", "termination_requests")
    op.drop_table("termination_requests")
    op.drop_index("ix_proxy_codes_case_id", "proxy_codes")
    op.drop_table("proxy_codes")
