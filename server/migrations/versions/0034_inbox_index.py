"""notices: indexes by task and by time, so a person's badge and inbox page do not read the
whole history (issue 18's follow-up on 0031_notice_audience)

Since a notice is stored once with its audience (matched in the statement, not looked up),
the header badge and the inbox page read every notice. With these:

- ``ix_notices_task (task_id)``, a hash index on PostgreSQL (about 25 bytes a notice where a
  B-tree of the 36-character ids takes 70): the badge counts, from the open work items
  (their partial indexes), each open task's notices; a notice of a finished task is never
  read.
- ``ix_notices_no_task (created_at) WHERE task_id IS NULL``: and the notices about no task.
- ``ix_notices_created (created_at)``: the inbox page reads notices newest first in the
  index's order and stops when the page is full (ties of a time in id order: the rowid ends
  SQLite's indexes; PostgreSQL sorts within a time).

Revision ID: 0034_inbox_index
Revises: 0033_work_item_compact
"""
import sqlalchemy as sa
from alembic import op

revision = "0034_inbox_index"
down_revision = "0033_work_item_compact"
branch_labels = None
depends_on = None

NO_TASK = sa.text("task_id IS NULL")


def upgrade() -> None:
    op.create_index("ix_notices_task", "notices", ["task_id"], postgresql_using="hash")
    op.create_index("ix_notices_no_task", "notices", ["created_at"], sqlite_where=NO_TASK,
                    postgresql_where=NO_TASK)
    op.create_index("ix_notices_created", "notices", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_created", table_name="notices")
    op.drop_index("ix_notices_no_task", table_name="notices")
    op.drop_index("ix_notices_task", table_name="notices")
