"""The project reserve (项目储备库): projects tracked from the first talk, before any application.

Seed 001 三(一) asks for a key-project library with 协同推进、动态调整、定期评价, and 三(二) for
each project's 责任人、责任部门和联络员. A reserve project moves 洽谈 → 签约 → 落地 with a recorded
reason (``ReserveStageChange``), collects periodic evaluations (``ReserveEvaluation``), and
when signed is filed as an application on the investor's behalf (``case_id``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow

#: The reserve's stages in order: 洽谈 (talks), 签约 (signed), 落地 (landed: a case exists).
STAGES = ("talks", "signed", "landed")


class ReserveProject(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "reserve_projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    investor: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), default="")
    industry: Mapped[str] = mapped_column(String(40), index=True)
    investment_wan: Mapped[float] = mapped_column(Float)
    area: Mapped[str] = mapped_column(String(100), default="", index=True)
    # The county whose bureau keeps it (None: the default county, as a case naming none).
    county: Mapped[str | None] = mapped_column(String(20), default=None, index=True)
    stage: Mapped[str] = mapped_column(String(10), default="talks", index=True)
    leader: Mapped[str] = mapped_column(String(80))        # 责任人 (a user)
    department: Mapped[str] = mapped_column(String(64))    # 责任部门 (a group code)
    liaison: Mapped[str] = mapped_column(String(80))       # 联络员 (a user)
    next_step: Mapped[str] = mapped_column(Text, default="")
    next_step_on: Mapped[date | None] = mapped_column(Date)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"),
                                                index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changes: Mapped[list[ReserveStageChange]] = relationship(
        lazy="selectin", order_by="ReserveStageChange.id", cascade="all, delete-orphan")
    evaluations: Mapped[list[ReserveEvaluation]] = relationship(
        lazy="selectin", order_by="ReserveEvaluation.id", cascade="all, delete-orphan")


class ReserveStageChange(db.Model):  # type: ignore[name-defined,misc]
    """One move between stages and why (动态调整)."""

    __tablename__ = "reserve_stage_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reserve_id: Mapped[int] = mapped_column(
        ForeignKey("reserve_projects.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str] = mapped_column(String(10))
    to_stage: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(80))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReserveEvaluation(db.Model):  # type: ignore[name-defined,misc]
    """One periodic evaluation (定期评价): how the project stands and what is in its way."""

    __tablename__ = "reserve_evaluations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reserve_id: Mapped[int] = mapped_column(
        ForeignKey("reserve_projects.id", ondelete="CASCADE"), index=True)
    evaluated_on: Mapped[date] = mapped_column(Date)
    rating: Mapped[str] = mapped_column(String(10))  # on_track | slow | stalled
    note: Mapped[str] = mapped_column(Text, default="")
    evaluated_by: Mapped[str] = mapped_column(String(80))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
