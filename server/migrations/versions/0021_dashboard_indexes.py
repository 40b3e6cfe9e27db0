"""dashboard indexes: open approval items by deadline, for the case list's light filter

The case list's light filter (and the dashboard's counts) look for the open handling tasks
(``element_id = 'handle_item'``, ``state = 'ready'``) due at given moments and want their
cases; with ``case_id`` in the index PostgreSQL answers from the index alone.

Revision ID: 0021_dashboard_indexes
Revises: 0012_accountability
"""
from alembic import op

revision = "0021_dashboard_indexes"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_work_items_element_state_due", "work_items",
                    ["element_id", "state", "due_at", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_work_items_element_state_due", table_name="work_items")
