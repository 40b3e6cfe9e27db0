"""security: a per-user session version, so sign-out, deactivation and a new password end
every session of the user on every device

Revision ID: 0011_security
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_security"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
