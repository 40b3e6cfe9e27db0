"""The project behind a case (项目): its national code, ownership, type and land contract date.

One row per case, written when the case starts and corrected by the steward (audited); the
whole-project clock runs from ``land_contract_on`` (土地出让合同) to the construction permit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class CaseProject(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "case_projects"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    project_code: Mapped[str | None] = mapped_column(String(24), index=True)
    ownership: Mapped[str | None] = mapped_column(String(20))  # private | foreign | state_owned
    project_type: Mapped[str | None] = mapped_column(String(30))  # building | simple_low_risk …
    land_contract_on: Mapped[date | None] = mapped_column(Date)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
