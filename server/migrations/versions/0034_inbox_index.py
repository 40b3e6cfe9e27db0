"""notices: indexes by task and by time, so a person's badge and inbox page do not read the
whole history (issue 18's follow-up on 0031_notice_audience)

Since a notice is stored once with its audience (matched in the statement, not looked up),
the header badge and the inbox page read every notice. With these:

- ``ix_notices_task (task_id)``: the badge counts the notices about no task (the index's
  NULL keys) and, from the open work items (their partial indexes), each open task's
  notices; a notice of a finished task is never read.
- ``ix_notices_created (created_at, id)``: the inbox page reads notices newest first in the
  index's order and stops when the page is full.

Revision ID: 0034_inbox_index
Revises: 0033_work_item_compact
"""
from alembic import op

revision = "0034_inbox_index"
down_revision = "0033_work_item_compact"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notices_task", "notices", ["task_id"])
    op.create_index("ix_notices_created", "notices", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_notices_created", table_name="notices")
    op.drop_index("ix_notices_task", table_name="notices")
