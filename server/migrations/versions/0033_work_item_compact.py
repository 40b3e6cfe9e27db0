"""work items: a closed item's group rows go; the task list's indexes hold open items only

Issue 18 (bytes per finished case, and the task list with 1,000,000 work items on
PostgreSQL within 100 ms):

- ``work_item_groups`` keeps the offers of open items only: closing an item (completed or
  cancelled) deletes its rows, and the rows of items closed before are deleted here. No list
  read them (the case list's department and "my groups" rules read ``candidate_groups``).
  Lists find an item's groups by its id (the primary key), so the index by group code goes.
- The task list reads ``work_items`` itself, through partial indexes of open items
  (``WHERE state = 'ready'``, as the queries write it): a finished case leaves nothing in
  them. A group's unclaimed offers by deadline (``candidate_groups, county, due_at`` WHERE
  also ``claimed_by IS NULL``) give a page in order and the count from the index alone;
  items offered to several groups, items assigned to or claimed by a person, and open items
  by deadline (reminders) have their own small ones. The latter replaces ``(state,
  due_at)``, which held every closed item too. The offers' index is narrow (no id, no
  created_at: ties of a deadline are sorted as they are read; its keys repeat, and
  PostgreSQL stores each once), so PostgreSQL counts half a million offers from it rather
  than reading the table.

- The index by element (the dashboard's, reports' and score cards' reads) holds only the
  elements they look up (handling, supplements, 差评 call-backs; the queries name them in the
  statement): a case's other items leave nothing in it.

  work_items        before: pk, case_id, (state, due_at), (element_id, state, county, due_at,
                            case_id) INCLUDE (...)
                    after:  pk, case_id, (element_id, ...) WHERE element_id = … OR …, and
                            WHERE state = 'ready': (candidate_groups, county, due_at) WHERE …
                            claimed_by IS NULL, (due_at) WHERE … LIKE '%,%', (assignee),
                            (claimed_by), (due_at)
  work_item_groups  before: pk, (group_code, state, county); rows of every item
                    after:  pk; rows of open items

Revision ID: 0033_work_item_compact
Revises: 0031_notice_audience
"""
import sqlalchemy as sa
from alembic import op

revision = "0033_work_item_compact"
down_revision = "0031_notice_audience"
branch_labels = None
depends_on = "0028_work_item_county"

OPEN = sa.text("state = 'ready'")
# The elements queried by element (server.models.cases.INDEXED_ELEMENTS, as of this revision).
INDEXED = sa.text("element_id = 'handle_item' OR element_id = 'supply_materials' "
                  "OR element_id = 'call_back_and_rectify'")
OFFERED = sa.text("state = 'ready' AND claimed_by IS NULL")
OPEN_SHARED = sa.text("state = 'ready' AND candidate_groups LIKE '%,%'")


def _partial(name: str, columns: list[str], where: sa.TextClause = OPEN) -> None:
    op.create_index(name, "work_items", columns, postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    op.execute("DELETE FROM work_item_groups WHERE work_item_id IN "
               "(SELECT id FROM work_items WHERE state <> 'ready')")
    op.drop_index("ix_work_item_groups_code_state_county", table_name="work_item_groups")
    op.drop_index("ix_work_items_state_due", table_name="work_items")
    _partial("ix_work_items_open_offers", ["candidate_groups", "county", "due_at"], OFFERED)
    _partial("ix_work_items_open_shared", ["due_at"], OPEN_SHARED)
    _partial("ix_work_items_open_assignee", ["assignee"])
    _partial("ix_work_items_open_claimed", ["claimed_by"])
    _partial("ix_work_items_open_due", ["due_at"])
    op.drop_index("ix_work_items_element_state_county_due", table_name="work_items")
    op.create_index("ix_work_items_element_state_county_due", "work_items",
                    ["element_id", "state", "county", "due_at", "case_id"],
                    postgresql_include=["candidate_groups", "completed_at"],
                    postgresql_where=INDEXED, sqlite_where=INDEXED)


def downgrade() -> None:
    op.drop_index("ix_work_items_element_state_county_due", table_name="work_items")
    op.create_index("ix_work_items_element_state_county_due", "work_items",
                    ["element_id", "state", "county", "due_at", "case_id"],
                    postgresql_include=["candidate_groups", "completed_at"])
    for name in ("ix_work_items_open_due", "ix_work_items_open_claimed",
                 "ix_work_items_open_assignee", "ix_work_items_open_shared",
                 "ix_work_items_open_offers"):
        op.drop_index(name, table_name="work_items")
    op.create_index("ix_work_items_state_due", "work_items", ["state", "due_at"])
    op.create_index("ix_work_item_groups_code_state_county", "work_item_groups",
                    ["group_code", "state", "county"])
    # The closed items' group rows come back from their items' groups (state as closed).
    connection = op.get_bind()
    closed = connection.execute(sa.text(
        "SELECT id, candidate_groups, state, county FROM work_items WHERE state <> 'ready'"))
    rows = [{"w": i, "g": g, "s": s, "c": c} for i, groups, s, c in closed
            for g in dict.fromkeys(x for x in (groups or "").split(",") if x)]
    if rows:
        connection.execute(sa.text(
            "INSERT INTO work_item_groups (work_item_id, group_code, state, county) "
            "VALUES (:w, :g, :s, :c)"), rows)
