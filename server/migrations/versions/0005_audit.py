"""checkpoints: signed Merkle roots of the audit log and of each case

Revision ID: 0005_audit
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_audit"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(128), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("sig_alg", sa.String(20), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=True),
        sa.Column("signature", sa.String(256), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("signed_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("scope", "tree_size", name="uq_checkpoints_scope_size"),
    )
    op.create_index("ix_checkpoints_scope", "checkpoints", ["scope"])


def downgrade() -> None:
    op.drop_index("ix_checkpoints_scope", table_name="checkpoints")
    op.drop_table("checkpoints")
