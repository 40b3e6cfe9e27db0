"""ledger: keyed MAC chain on audit events, anchors (on the case row; ledger_heads for events
of no case), chained append-only checkpoints

Revision ID: 0010_ledger
Revises: 0005_audit
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_ledger"
down_revision = "0005_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("mac", sa.String(64), nullable=True))
    op.add_column("checkpoints", sa.Column("prev", sa.String(64), nullable=True))
    op.add_column("cases", sa.Column("ledger_leaf", sa.String(128), nullable=False,
                                     server_default=""))
    op.add_column("cases", sa.Column("ledger_mac", sa.String(64), nullable=True))
    op.create_table(
        "ledger_heads",
        sa.Column("scope", sa.String(40), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_leaf", sa.String(128), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    # Checkpoints are evidence too: once signed, a checkpoint is never changed or removed.
    op.execute("""
        CREATE OR REPLACE FUNCTION guanjia_refuse_change() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql;
    """)
    op.execute("""
        CREATE TRIGGER checkpoints_no_update_delete
        BEFORE UPDATE OR DELETE ON checkpoints
        FOR EACH ROW EXECUTE FUNCTION guanjia_refuse_change();
    """)
    op.execute("""
        CREATE TRIGGER checkpoints_no_truncate
        BEFORE TRUNCATE ON checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION guanjia_refuse_change();
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_truncate ON checkpoints")
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_update_delete ON checkpoints")
        op.execute("DROP FUNCTION IF EXISTS guanjia_refuse_change()")
    op.drop_table("ledger_heads")
    op.drop_column("cases", "ledger_mac")
    op.drop_column("cases", "ledger_leaf")
    op.drop_column("checkpoints", "prev")
    op.drop_column("audit_events", "mac")
