"""design drafts: designers' unsaved BPMN, DMN and form files

Revision ID: 0006_designer
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_designer"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "design_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("base_deployment", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("author", "name", name="uq_design_drafts_author_name"),
    )


def downgrade() -> None:
    op.drop_table("design_drafts")
