"""password history: earlier password hashes, so a new password cannot repeat one of the
last N (等保 2.0 basics; N is the installation setting GUANJIA_PASSWORD_HISTORY)

Revision ID: 0015_password_history
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_password_history"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_password_history_user_id", "password_history", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_password_history_user_id", "password_history")
    op.drop_table("password_history")
