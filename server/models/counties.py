"""Counties (县) as data: each counts deadlines with its own office hours, local days off,
light thresholds and settings under 行政许可法 Art. 32.

A county's local days off (the prefecture's annual notice: 火把节, 彝族年, 自治州成立纪念日 …)
are ``CalendarDay`` rows with the county's code; the national notice's rows have none. Each
edit bumps ``revision``, so every process rebuilds its calendar of that county on its next look.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class County(db.Model):  # type: ignore[name-defined,misc]
    """One county and the settings its clock counts with."""

    __tablename__ = "counties"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    prefecture: Mapped[str] = mapped_column(String(50), default="")
    # Office hours as text (server.rules.office_hours), e.g. "09:00-12:00 14:30-18:00".
    office_hours: Mapped[str] = mapped_column(Text)
    light_share_percent: Mapped[int] = mapped_column(Integer, default=20)
    light_min_days: Mapped[int] = mapped_column(Integer, default=1)
    art32_mode: Mapped[str] = mapped_column(String(10), default="restart")  # restart | pause
    # 原则上30分钟: the late call stays yellow this many office minutes before it escalates.
    late_call_grace_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Prefilled cap of a 公示 pause, in the item's limit unit.
    publicity_cap_days: Mapped[int] = mapped_column(Integer, default=10)
    # Working days an enterprise has for its own steps before the window records its silence.
    enterprise_reply_days: Mapped[int] = mapped_column(Integer, default=5)
    # Months after a case ends at which it is visited again (定期回访; 004 names no intervals).
    return_visit_months: Mapped[str] = mapped_column(String(100), default="1,3,6,12")
    # The county's towns and townships (乡镇), separated by 、: what a policy may be pushed to
    # (the seeds list none: the county's setting).
    towns: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CountyCatalog(db.Model):  # type: ignore[name-defined,misc]
    """A county's own item catalog (its CSV as uploaded), or none: the county inherits the
    prefecture's (``GUANJIA_CATALOG_FILE``). Reverting keeps the row with no text, so the
    revision only ever grows and every process can tell each version apart."""

    __tablename__ = "county_catalogs"
    county: Mapped[str] = mapped_column(String(20), ForeignKey("counties.code"),
                                        primary_key=True)
    # The CSV the county uploaded; None: the county inherits the prefecture's catalog.
    csv_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    items: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
