"""accountability: a case's named steward team; a county's limit for enterprise steps

Revision ID: 0012_accountability
Revises: 0008_catalog, 0009_counties
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_accountability"
down_revision = ("0008_catalog", "0009_counties")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_teams",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("steward", sa.String(80), nullable=False),
        sa.Column("leader", sa.String(80), nullable=False),
        sa.Column("co_agents", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_case_teams_steward", "case_teams", ["steward"])
    op.create_index("ix_case_teams_leader", "case_teams", ["leader"])
    with op.batch_alter_table("counties") as batch:
        batch.add_column(sa.Column("enterprise_reply_days", sa.Integer(), nullable=False,
                                   server_default="5"))


def downgrade() -> None:
    with op.batch_alter_table("counties") as batch:
        batch.drop_column("enterprise_reply_days")
    op.drop_index("ix_case_teams_leader", "case_teams")
    op.drop_index("ix_case_teams_steward", "case_teams")
    op.drop_table("case_teams")
