"""deployments per county: a county's override of the prefecture's diagrams and forms

A deployment with ``county`` NULL is the prefecture's (州/市): every county inherits it. One
with a county is that county's library: the prefecture's newest files with the county's own
(``deployment_files.inherited`` false) in their place, stored whole so a case keeps one
version (issue 21). ``base_id`` names the prefecture deployment a county's was composed on.

Revision ID: 0025_county_deployments
Revises: 0023_speed
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_county_deployments"
down_revision = "0023_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("county", sa.String(20), nullable=True))
        batch.add_column(sa.Column("base_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_deployments_base", "deployments", ["base_id"], ["id"])
    op.create_index("ix_deployments_county_number", "deployments", ["county", "number"])
    with op.batch_alter_table("deployment_files") as batch:
        batch.add_column(sa.Column("inherited", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("deployment_files") as batch:
        batch.drop_column("inherited")
    op.drop_index("ix_deployments_county_number", table_name="deployments")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_constraint("fk_deployments_base", type_="foreignkey")
        batch.drop_column("base_id")
        batch.drop_column("county")
