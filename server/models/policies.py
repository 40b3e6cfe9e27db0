"""Policies pushed to whom they concern (政策信息定向推送, seed 000 §二(五)).

A policy is data: who issued it, what it says, and whom it concerns (industries, areas, an
investment range, a validity). Publishing it writes one ``PolicyDelivery`` per matching
enterprise and per lead steward of a matching open case; the delivery is the read receipt.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class Policy(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    issuer: Mapped[str] = mapped_column(String(200))  # 发文机关
    document_no: Mapped[str] = mapped_column(String(100), default="")  # 文号
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")  # full text
    file_url: Mapped[str] = mapped_column(String(500), default="")  # or where the file is
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)  # application form codes
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)  # towns (乡镇)
    min_investment_wan: Mapped[Any | None] = mapped_column(Numeric(14, 2))
    max_investment_wan: Mapped[Any | None] = mapped_column(Numeric(14, 2))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # The county whose bureau wrote it (its cases and people only); None: the prefecture's,
    # for every county (issue 21).
    county: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    state: Mapped[str] = mapped_column(String(20), default="draft")  # draft | published
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(80))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deliveries: Mapped[list[PolicyDelivery]] = relationship(
        back_populates="policy", lazy="selectin", order_by="PolicyDelivery.id")


class PolicyDelivery(db.Model):  # type: ignore[name-defined,misc]
    """One pushed copy: to an enterprise (any of its people may read it) or to one steward."""

    __tablename__ = "policy_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(20))  # enterprise | steward
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    username: Mapped[str | None] = mapped_column(String(80))  # the steward
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by: Mapped[str | None] = mapped_column(String(80))
    policy: Mapped[Policy] = relationship(back_populates="deliveries")

    __table_args__ = (
        Index("ix_policy_deliveries_policy", "policy_id"),
        Index("ix_policy_deliveries_enterprise", "enterprise_id"),
        Index("ix_policy_deliveries_username", "username"),
    )
