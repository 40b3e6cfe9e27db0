"""work items carry their case's county, so a county's task list and dashboard walk its rows only

In a prefecture (issue 21) a county user's task list and the leader's dashboard read every
county's ``work_items`` / ``work_item_groups`` rows through their indexes and then dropped the
other counties' by looking up each row's case (8.8× and 4× slower than the county alone). Both
tables now carry ``county`` (NULL: the installation's default county, exactly as
``cases.county``), copied from the case when a row is written (a case's county never changes)
and filled here for existing rows, one UPDATE per table.

The indexes that served these reads gain ``county`` right after their equality columns instead
of a new index beside them, so a write maintains as many indexes as before (issue 18): for
``element_id = 'handle_item' AND state = … AND county = …`` and for
``group_code IN … AND state = 'ready' AND county = …`` the county's rows are one index range,
and a prefecture user's query (no county) still uses the leading columns as before.
PostgreSQL 15 has no skip scan, so an index led by ``county`` would have left the prefecture's
queries (and the case list's light filter) without one. On PostgreSQL the work-items index also
carries ``candidate_groups`` and ``completed_at`` (INCLUDE): a county's on-time rates are then
read from the index alone; its finished rows lie spread over the table's pages, and without it
the planner read the whole table.

  work_items        before: pk, case_id, (state, due_at), (element_id, state, due_at, case_id)
                    after:  pk, case_id, (state, due_at), (element_id, state, county, due_at,
                            case_id) INCLUDE (candidate_groups, completed_at) on PostgreSQL
  work_item_groups  before: pk, (group_code, state)
                    after:  pk, (group_code, state, county)

Revision ID: 0028_work_item_county
Revises: 0027_compact
"""
import sqlalchemy as sa
from alembic import op

revision = "0028_work_item_county"
down_revision = "0027_compact"
branch_labels = None
depends_on = "0021_dashboard_indexes"  # ix_work_items_element_state_due


def upgrade() -> None:
    op.add_column("work_items", sa.Column("county", sa.String(20), nullable=True))
    op.add_column("work_item_groups", sa.Column("county", sa.String(20), nullable=True))
    op.execute("UPDATE work_items SET county = (SELECT cases.county FROM cases "
               "WHERE cases.id = work_items.case_id)")
    op.execute("UPDATE work_item_groups SET county = (SELECT work_items.county FROM work_items "
               "WHERE work_items.id = work_item_groups.work_item_id)")
    op.drop_index("ix_work_items_element_state_due", table_name="work_items")
    op.create_index("ix_work_items_element_state_county_due", "work_items",
                    ["element_id", "state", "county", "due_at", "case_id"],
                    postgresql_include=["candidate_groups", "completed_at"])
    op.drop_index("ix_work_item_groups_code_state", table_name="work_item_groups")
    op.create_index("ix_work_item_groups_code_state_county", "work_item_groups",
                    ["group_code", "state", "county"])


def downgrade() -> None:
    op.drop_index("ix_work_item_groups_code_state_county", table_name="work_item_groups")
    op.create_index("ix_work_item_groups_code_state", "work_item_groups",
                    ["group_code", "state"])
    op.drop_index("ix_work_items_element_state_county_due", table_name="work_items")
    op.create_index("ix_work_items_element_state_due", "work_items",
                    ["element_id", "state", "due_at", "case_id"])
    with op.batch_alter_table("work_item_groups") as batch:
        batch.drop_column("county")
    with op.batch_alter_table("work_items") as batch:
        batch.drop_column("county")
