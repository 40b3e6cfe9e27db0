"""deployments per county: a county's override of the prefecture's diagrams and forms

A deployment with ``county`` NULL is the prefecture's (州/市): every county inherits it. One
with a county is that county's library: the prefecture's newest files with the county's own
(``deployment_files.inherited`` false) in their place, stored whole so a case keeps one
version (issue 21). ``base_id`` names the prefecture deployment a county's was composed on.
A county's cases then start on its own deployment; downgrading forgets which deployment is
whose (every one looks the prefecture's), so downgrade only before a county deploys.

Revision ID: 0025_county_deployments
Revises: 0023_speed
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_county_deployments"
down_revision = "0024_county_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain columns (no constraint): SQLite adds them in place, without copying the tables
    # that cases and files point at. ``base_id`` is a deployment's id, set once on insert.
    op.add_column("deployments", sa.Column("county", sa.String(20), nullable=True))
    op.add_column("deployments", sa.Column("base_id", sa.Integer(), nullable=True))
    op.create_index("ix_deployments_county_number", "deployments", ["county", "number"])
    op.add_column("deployment_files", sa.Column("inherited", sa.Boolean(), nullable=False,
                                                server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("deployment_files", "inherited")
    op.drop_index("ix_deployments_county_number", table_name="deployments")
    op.drop_column("deployments", "base_id")
    op.drop_column("deployments", "county")
