"""A case (one process instance), its engine state rows, and its human work items.

The engine state is stored one row per SpiffWorkflow task plus a small envelope on the case,
so a step writes only the tasks it changed: the cost of a completion does not grow with the
case's history. ``state_version`` is the optimistic-lock counter every write checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    literal,
    literal_column,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.processes import Deployment
from server.models.types import UTCDateTime, utcnow


class Case(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    area: Mapped[str] = mapped_column(String(100), default="")
    # The county whose calendar the case counts with (None: the installation's default).
    county: Mapped[str | None] = mapped_column(String(20), default=None, index=True)
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    # The anchor of the case's keyed audit chain (server.ledger.chain): the newest event's
    # leaf and the MAC over (count, leaf), written with the event in the step's one UPDATE.
    ledger_leaf: Mapped[str] = mapped_column(String(128), default="")
    ledger_mac: Mapped[str | None] = mapped_column(String(64))
    # Read only when a live case is rebuilt from rows; case and task reads skip it.
    envelope: Mapped[str] = mapped_column(Text, default="{}", deferred=True)
    summary: Mapped[str] = mapped_column(Text, default="{}")
    deployment: Mapped[Deployment] = relationship(lazy="select")

    # Every UPDATE of a case checks the version it read (WHERE state_version = :old), so two
    # processes writing one case cannot both win; guanjia sets the next version itself.
    __mapper_args__ = {"version_id_col": state_version, "version_id_generator": False}


class EngineTask(db.Model):  # type: ignore[name-defined,misc]
    """One serialized SpiffWorkflow task; ``workflow`` is 'top' or a subprocess's task id."""

    __tablename__ = "engine_tasks"
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)


#: The predicate of the partial indexes of open items. Queries write it the same way,
#: ``WorkItem.state == READY``: "ready" in the statement, not bound, so that the databases
#: see the index applies (a bound value is not known when the plan is made).
_OPEN = text("state = 'ready'")
READY: ColumnElement[str] = literal_column("'ready'")
#: The elements whose work items are looked up by element (the dashboard, reports, score
#: cards and roll-ups: departments' handling, supplements, 差评 call-backs): only their rows
#: are in ix_work_items_element_state_county_due (0033_work_item_compact).
INDEXED_ELEMENTS = ("handle_item", "supply_materials", "call_back_and_rectify")
_INDEXED = text(" OR ".join(f"element_id = '{e}'" for e in INDEXED_ELEMENTS))
_OFFERED = text("state = 'ready' AND claimed_by IS NULL")
_OPEN_SHARED = text("state = 'ready' AND candidate_groups LIKE '%,%'")


class WorkItem(db.Model):  # type: ignore[name-defined,misc]
    """A human task as people see it: the read model behind every task list."""

    __tablename__ = "work_items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    lane: Mapped[str] = mapped_column(String(200), default="")
    form_key: Mapped[str] = mapped_column(String(200), default="")
    candidate_groups: Mapped[str] = mapped_column(String(500), default="")
    assignee: Mapped[str | None] = mapped_column(String(80))
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), default="ready")  # ready|completed|cancelled
    stage: Mapped[str] = mapped_column(String(100), default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_provisional: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    draft: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text, default="{}")
    # The case's county, copied when the item is written (a case's county never changes;
    # None: the installation's default, as ``Case.county``), so a county's lists and counts
    # walk only its own rows (0028_work_item_county).
    county: Mapped[str | None] = mapped_column(String(20), default=None)
    case: Mapped[Case] = relationship(lazy="joined")

    __table_args__ = (
        # Open approval items of a county, or of all counties (the leading columns alone),
        # and completed ones, by deadline; on PostgreSQL the on-time rates are read from
        # the index alone (0028_work_item_county).
        # Only the elements queried by element (``INDEXED_ELEMENTS``; queries name them with
        # ``WorkItem.element_is``): a case's other items leave nothing in it.
        Index("ix_work_items_element_state_county_due", "element_id", "state", "county",
              "due_at", "case_id", postgresql_include=["candidate_groups", "completed_at"],
              postgresql_where=_INDEXED, sqlite_where=_INDEXED),
        # Open items only (``WHERE state = 'ready'``, as the queries write it: a finished
        # case leaves nothing in these; 0033_work_item_compact). A group's unclaimed offers
        # in a county by deadline: a task list's page is read from it in order and its count
        # from it alone (few distinct keys: PostgreSQL stores each key once).
        Index("ix_work_items_open_offers", "candidate_groups", "county", "due_at",
              postgresql_where=_OFFERED, sqlite_where=_OFFERED),
        # The few items offered to several groups (their offers: ``work_item_groups``).
        Index("ix_work_items_open_shared", "due_at", postgresql_where=_OPEN_SHARED,
              sqlite_where=_OPEN_SHARED),
        # "Mine": assigned to or claimed by the user.
        Index("ix_work_items_open_assignee", "assignee", postgresql_where=_OPEN,
              sqlite_where=_OPEN),
        Index("ix_work_items_open_claimed", "claimed_by", postgresql_where=_OPEN,
              sqlite_where=_OPEN),
        # Reminders and calendar changes: open items by deadline.
        Index("ix_work_items_open_due", "due_at", postgresql_where=_OPEN, sqlite_where=_OPEN),
    )

    @property
    def group_codes(self) -> list[str]:
        # work_item_groups mirrors this column of open items for indexed "my groups" queries.
        return [g for g in self.candidate_groups.split(",") if g]

    @classmethod
    def element_is(cls, *element_ids: str) -> ColumnElement[bool]:
        """A condition: the item is of one of ``element_ids`` (of ``INDEXED_ELEMENTS``),
        written into the statement, not bound, so that the databases see that the partial
        index ix_work_items_element_state_county_due applies."""
        assert set(element_ids) <= set(INDEXED_ELEMENTS), element_ids
        found = [cls.element_id == literal_column(f"'{e}'") for e in element_ids]
        return or_(*found) if len(found) > 1 else found[0]

    @classmethod
    def offered_to_any(cls, codes: Iterable[str]) -> ColumnElement[bool]:
        """A condition: the item (open or closed) was offered to one of ``codes``. Read from
        ``candidate_groups``: ``work_item_groups`` keeps open items' offers only."""
        listed = literal(",") + cls.candidate_groups + literal(",")
        return or_(false(), *(listed.like(f"%,{like_escaped(code)},%", escape="\\")
                              for code in sorted(codes)))


def like_escaped(text: str) -> str:
    """``text`` for a LIKE pattern with escape character backslash: matched as written."""
    return re.sub(r"[%_\\]", lambda m: "\\" + m.group(), text)


class WorkItemGroup(db.Model):  # type: ignore[name-defined,misc]
    """One candidate group of an open work item, so 'my groups' tasks is an indexed join.

    The rows of an item go when it closes (completed or cancelled): no list reads them then,
    and a finished case keeps none (issue 18). ``state`` is therefore always "ready"."""

    __tablename__ = "work_item_groups"
    work_item_id: Mapped[str] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), primary_key=True
    )
    group_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="ready")
    # The work item's (its case's) county: a group's offers in one county are one index range.
    county: Mapped[str | None] = mapped_column(String(20), default=None)
    # Lists find an item's groups by its id (the primary key); 0033_work_item_compact dropped
    # the index by group code, state and county.
