"""policies per county (issue 21): ``policies.county``

A policy belongs to the county whose bureau wrote it and reaches only that county's cases and
people; NULL: the prefecture's, for every county. Policies written before counties were tenants
become the default county's, as their users did (0022_tenancy).

Revision ID: 0029_policy_county
Revises: 0020_policies
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_policy_county"
down_revision = "0020_policies"
branch_labels = None
depends_on = "0022_tenancy"  # users.county; the default county owns older policies


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("county", sa.String(20), nullable=True))
        batch.create_index("ix_policies_county", ["county"])
    default = op.get_bind().execute(
        sa.text("SELECT code FROM counties WHERE is_default ORDER BY code LIMIT 1")).scalar()
    if default is not None:
        op.get_bind().execute(sa.text("UPDATE policies SET county = :code"), {"code": default})


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_index("ix_policies_county")
        batch.drop_column("county")
