"""The county's intermediary market (中介超市, seed 004 §五(六) and 附件6; seed 003 §四(四)).

``IntermediaryService`` is one line of the list (中介服务事项清单: 设定依据、办理时限、取费标准、
监管部门、投诉电话), named as the catalog's ``intermediaries`` column names it. An ``Agency``
is registered per service with its qualification (``AgencyRegistration``). An
``AgencyEngagement`` is the enterprise's own choice of agency for a service one item of its
case needs (委托方自主选择中介机构): the agency's dates, delivery, rating and complaint —
kept apart from the government's clock on the approval item.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class IntermediaryService(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "intermediary_services"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # the catalog's wording
    basis: Mapped[str] = mapped_column(Text, default="")  # 设定依据
    limit_days: Mapped[int] = mapped_column(Integer, default=0)  # 办理时限 (working days)
    fee_standard: Mapped[str] = mapped_column(Text, default="")  # 取费标准
    regulator: Mapped[str] = mapped_column(String(200), default="")  # 监管部门
    complaint_phone: Mapped[str] = mapped_column(String(50), default="")  # 投诉电话
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agency(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    credit_code: Mapped[str] = mapped_column(String(18), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registrations: Mapped[list[AgencyRegistration]] = relationship(
        back_populates="agency", lazy="selectin", order_by="AgencyRegistration.id")


class AgencyRegistration(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "agency_registrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(
        ForeignKey("intermediary_services.id", ondelete="CASCADE"))
    qualification: Mapped[str] = mapped_column(String(300))  # 资质名称及等级
    certificate_no: Mapped[str] = mapped_column(String(100), default="")
    valid_until: Mapped[date | None] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(String(80), default="")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    agency: Mapped[Agency] = relationship(back_populates="registrations")
    service: Mapped[IntermediaryService] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("agency_id", "service_id",
                                       name="uq_agency_registrations_agency_service"),)


class AgencyEngagement(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "agency_engagements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(100))
    service_id: Mapped[int] = mapped_column(ForeignKey("intermediary_services.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    chosen_by: Mapped[str] = mapped_column(String(80))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    rating: Mapped[int | None] = mapped_column(Integer)  # 1..5
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    complaint: Mapped[str] = mapped_column(Text, default="")
    rated_by: Mapped[str | None] = mapped_column(String(80))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service: Mapped[IntermediaryService] = relationship(lazy="joined")
    agency: Mapped[Agency] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_agency_engagements_case", "case_id"),
        Index("ix_agency_engagements_agency", "agency_id"),
        UniqueConstraint("case_id", "item_code", "service_id",
                         name="uq_agency_engagements_case_item_service"),
    )
