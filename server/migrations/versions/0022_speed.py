"""notice indexes: only the mail still to send, none by case

``mail_waiting`` looks notices up by ``email_state = 'pending'`` only: a partial index on
those replaces the index of every notice by state. Nothing looks notices up by case (cases
are never deleted), so ``ix_notifications_case_id`` goes. Together 4.5 KB of the 22 KB of
notices a 12-task case left in SQLite (issue 18).

Revision ID: 0022_speed
Revises: 0021_dashboard_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_speed"
down_revision = "0021_dashboard_indexes"
branch_labels = None
depends_on = "0004_workers"  # the notices table and its indexes

PENDING = sa.text("email_state = 'pending'")


def upgrade():
    op.drop_index("ix_notifications_email_state", table_name="notifications")
    op.drop_index("ix_notifications_case_id", table_name="notifications")
    op.create_index("ix_notifications_mail_pending", "notifications", ["created_at"],
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade():
    op.drop_index("ix_notifications_mail_pending", table_name="notifications")
    op.create_index("ix_notifications_case_id", "notifications", ["case_id"])
    op.create_index("ix_notifications_email_state", "notifications",
                    ["email_state", "created_at"])
