"""a county's own item catalog (issue 21): ``county_catalogs``

One row per county that ever had its own catalog: the CSV it uploaded (NULL after it went back
to inheriting the prefecture's), how many items it holds, a revision that only grows (every
process keeps the parsed catalog of each county by revision), and who changed it when.

Revision ID: 0024_county_catalog
Revises: 0023_speed
"""
import sqlalchemy as sa
from alembic import op

revision = "0024_county_catalog"
down_revision = "0023_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "county_catalogs",
        sa.Column("county", sa.String(20), sa.ForeignKey("counties.code"), primary_key=True),
        sa.Column("csv_text", sa.Text(), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("county_catalogs")
