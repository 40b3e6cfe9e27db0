"""The reports seed 001 and 004 prescribe, one row per version (审定、报送 recorded on it).

A report is prepared from the case data (its figures frozen in ``content``), written on by the
stewards (``notes``: the 跟踪反馈单's 进展 / 存在问题 / 下步计划 per case), signed off by the
主要负责人 and marked 已报送 with the day it was handed in. A correction after sign-off is a
new version; the old row stays as it was, pointing at its successor.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class Report(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # monthly | quarterly | annual | half_year
    period: Mapped[str] = mapped_column(String(10))  # 2026-11 | 2026-Q4 | 2026 | 2026-H2
    # The county whose cases it counts ("": the installation's default county, as a case
    # with no county; server.services.tenancy).
    county: Mapped[str] = mapped_column(String(20), default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(20), default="draft")  # draft|signed|submitted
    due_on: Mapped[date] = mapped_column(Date, index=True)
    content: Mapped[str] = mapped_column(Text, default="{}")  # the figures, frozen
    notes: Mapped[str] = mapped_column(Text, default="{}")  # case id → the steward's words
    prepared_by: Mapped[str] = mapped_column(String(80), default="")
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_by: Mapped[str | None] = mapped_column(String(80))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(80))
    submitted_on: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    superseded_by: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("kind", "period", "county", "version",
                                       name="uq_reports_kind_period_county_version"),)

    @property
    def figures(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.content or "{}")
        return found

    @property
    def case_notes(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = json.loads(self.notes or "{}")
        return found
