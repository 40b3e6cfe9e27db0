"""catalog: the project behind a case (national code, ownership, type, land contract date)

Revision ID: 0008_catalog
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_catalog"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_projects",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("project_code", sa.String(24), nullable=True),
        sa.Column("ownership", sa.String(20), nullable=True),
        sa.Column("project_type", sa.String(30), nullable=True),
        sa.Column("land_contract_on", sa.Date(), nullable=True),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_case_projects_project_code", "case_projects", ["project_code"])


def downgrade() -> None:
    op.drop_index("ix_case_projects_project_code", "case_projects")
    op.drop_table("case_projects")
