"""An approval item handed up from a county case to a prefecture department (州级审批, issue 21).

One row per hand-up: the county case and its open 办理 task whose clock stands still
(行政许可法 Art. 43, ``item_referred_upward``), the prefecture department it was handed to, and
that department's own progress — received, accepted (受理: its clock starts), decided
(approved with its 批文号, or refused with the reason). Every change is written with its audit
event on the county case's chain (``server.services.handups``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.cases import Case
from server.models.types import UTCDateTime, utcnow


class Handup(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "handups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: The county's 办理 task (work item) whose clock stopped for the hand-up.
    county_task_id: Mapped[str] = mapped_column(String(36), index=True)
    item_code: Mapped[str] = mapped_column(String(100))
    item_name: Mapped[str] = mapped_column(String(300))
    county_department: Mapped[str] = mapped_column(String(64))
    #: The prefecture department's group (``pref_…``) whose task list shows it.
    prefecture_group: Mapped[str] = mapped_column(String(64))
    limit_days: Mapped[int] = mapped_column(Integer)
    limit_kind: Mapped[str] = mapped_column(String(20), default="working")
    note: Mapped[str] = mapped_column(Text, default="")
    #: sent | accepted | approved | refused
    state: Mapped[str] = mapped_column(String(20), default="sent")
    sent_by: Mapped[str] = mapped_column(String(80))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_by: Mapped[str | None] = mapped_column(String(80))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_number: Mapped[str] = mapped_column(String(100), default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    case: Mapped[Case] = relationship(lazy="joined")

    __table_args__ = (Index("ix_handups_group_state", "prefecture_group", "state"),)

    @property
    def open(self) -> bool:
        return self.state in {"sent", "accepted"}
