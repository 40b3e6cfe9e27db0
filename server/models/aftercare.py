"""After-care of a completed case (项目建设跟踪): its milestones under the exit mechanism.

Seed 002 §三(四): 在项目签约时制定明确的投资强度、投资进度、开竣工时间及投产时间表 … 对“三个月
不开工、两年不投产、三年不见效”的项目 … 予以清理，及时回收土地; 每半年 … 开展园区土地清理.
When a case completes (not terminated) it gets one ``AftercareProject`` with three
``Milestone`` rows counted from the completion; the steward records ``ProgressEntry`` rows;
a missed milestone opens one ``SupervisionTask`` for the responsible leader.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow

#: 开工, 投产, 见效 in the order they fall due.
MILESTONES = ("start_work", "production", "effect")


class AftercareSetting(db.Model):  # type: ignore[name-defined,misc]
    """A county's own months for the three milestones and warning lead (本县设置)."""

    __tablename__ = "aftercare_settings"
    county: Mapped[str] = mapped_column(String(20), primary_key=True)
    start_work_months: Mapped[int] = mapped_column(Integer, default=3)
    production_months: Mapped[int] = mapped_column(Integer, default=24)
    effect_months: Mapped[int] = mapped_column(Integer, default=36)
    warn_days: Mapped[int] = mapped_column(Integer, default=15)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AftercareProject(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "aftercare_projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         unique=True)
    completed_on: Mapped[date] = mapped_column(Date)
    leader: Mapped[str] = mapped_column(String(80), default="")   # 责任领导
    steward: Mapped[str] = mapped_column(String(80), default="")
    promised_investment_wan: Mapped[float | None] = mapped_column(Float)
    # 投资强度 (万元/亩) promised in the investment contract; entered by the steward.
    promised_intensity: Mapped[float | None] = mapped_column(Float)
    land_mu: Mapped[float | None] = mapped_column(Float)
    invested_wan: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    milestones: Mapped[list[Milestone]] = relationship(
        lazy="selectin", order_by="Milestone.due_on", cascade="all, delete-orphan")
    progress: Mapped[list[ProgressEntry]] = relationship(
        lazy="selectin", order_by="ProgressEntry.id", cascade="all, delete-orphan")


class Milestone(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "aftercare_milestones"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    aftercare_id: Mapped[int] = mapped_column(
        ForeignKey("aftercare_projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    reached_on: Mapped[date | None] = mapped_column(Date)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("aftercare_id", "kind", name="uq_milestone_kind"),)


class ProgressEntry(db.Model):  # type: ignore[name-defined,misc]
    """What the steward found: a milestone reached on a date, and/or the amount invested."""

    __tablename__ = "aftercare_progress"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    aftercare_id: Mapped[int] = mapped_column(
        ForeignKey("aftercare_projects.id", ondelete="CASCADE"), index=True)
    milestone: Mapped[str] = mapped_column(String(20), default="")
    happened_on: Mapped[date] = mapped_column(Date)
    invested_wan: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupervisionTask(db.Model):  # type: ignore[name-defined,misc]
    """督办: one per missed milestone, for the responsible leader, closed with an opinion."""

    __tablename__ = "aftercare_supervision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("aftercare_milestones.id", ondelete="CASCADE"), unique=True)
    aftercare_id: Mapped[int] = mapped_column(
        ForeignKey("aftercare_projects.id", ondelete="CASCADE"), index=True)
    assignee: Mapped[str] = mapped_column(String(80), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str] = mapped_column(String(80), default="")
    opinion: Mapped[str] = mapped_column(Text, default="")
