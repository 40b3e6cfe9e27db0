"""Service on the enterprise's behalf (代企业办理) and the decisions that stop a case.

``ProxyCode``: a one-time code the enterprise generates in its portal so that the window may
complete one of its steps for it (seed 004 §二: 帮办代办 is doing it for the enterprise). Only
a keyed hash is kept; a code is short-lived, single use and allows a few wrong tries.

``TerminationRequest``: a proposal to stop the service (终止, seed 004 §五(八)), made by the
steward, the window or the enterprise and decided by the case's responsible leader.

``ReturnVisit``: one periodic return visit (定期回访, seed 004 §五(九), §六(二)) due a county-
set number of months after the case ended, with its record once made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class ProxyCode(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "proxy_codes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    used_for_task: Mapped[str | None] = mapped_column(String(36), nullable=True)


class TerminationRequest(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "termination_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    reason_code: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(String(80))
    proposed_role: Mapped[str] = mapped_column(String(40))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default="proposed")  # approved | declined
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class ReturnVisit(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "return_visits"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    months_after: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    assignee: Mapped[str] = mapped_column(String(80), default="", index=True)
    state: Mapped[str] = mapped_column(String(20), default="scheduled")  # open | done
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    method: Mapped[str] = mapped_column(String(20), default="")
    findings: Mapped[str] = mapped_column(Text, default="")
    enterprise_remarks: Mapped[str] = mapped_column(Text, default="")
    visited_on: Mapped[str] = mapped_column(String(10), default="")
    recorded_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
