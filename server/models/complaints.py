"""Complaints (投诉举报) and the county's complaint settings.

Seed 004 六(二) sets up 投诉举报 (with published telephone numbers) under the leading group's
supervision; seed 002 asks that investment enterprises' complaints be 及时受理和办结. How many
working days the supervision office (督查室) has to answer is not in the seeds: it is a county
setting (``ComplaintSetting``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class Complaint(db.Model):  # type: ignore[name-defined,misc]
    """One complaint, from intake to the complainant's satisfaction."""

    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    county: Mapped[str | None] = mapped_column(String(20), default=None)
    channel: Mapped[str] = mapped_column(String(20))  # portal | phone | letter | visit
    # Who complains: an enterprise of the portal (its users see the complaint), or a person
    # who telephoned (their name and number, as the intake clerk wrote them down).
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    complainant_name: Mapped[str] = mapped_column(String(100), default="")
    complainant_phone: Mapped[str] = mapped_column(String(40), default="")
    # What about: a case, a department (group code), a person (free text, as said).
    subject: Mapped[str] = mapped_column(String(20))  # case | department | person
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    department: Mapped[str] = mapped_column(String(64), default="", index=True)
    person: Mapped[str] = mapped_column(String(100), default="")
    content: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(80))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handling_days: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # received → investigating → answered → closed (the complainant said how satisfied)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    # The department's part: the office's question and the department's answer.
    question: Mapped[str] = mapped_column(Text, default="")
    referred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    department_answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_department: Mapped[str | None] = mapped_column(String(80))
    department_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The office's findings and its answer to the complainant.
    investigation: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str | None] = mapped_column(String(20))  # upheld | partly_upheld | not_upheld
    feedback: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    satisfaction_note: Mapped[str] = mapped_column(Text, default="")
    rated_by: Mapped[str | None] = mapped_column(String(80))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def reference(self) -> str:
        """投诉 number as printed: TS-<year>-<id>."""
        return f"TS-{self.filed_at:%Y}-{self.id:05d}"


class ComplaintSetting(db.Model):  # type: ignore[name-defined,misc]
    """A county's handling limit and published complaint telephones (本县设置)."""

    __tablename__ = "complaint_settings"
    # The county code; "" holds the installation's setting for cases of no county.
    county: Mapped[str] = mapped_column(String(20), primary_key=True)
    handling_days: Mapped[int] = mapped_column(Integer, default=15)
    phones: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
