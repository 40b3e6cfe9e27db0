"""Holiday notices an administrator loaded on top of the bundled calendar.

The bundled file (``server/data/holidays_cn.json``) ends with the last year ``chinesecalendar``
knew; each later year arrives as the State Council's notice, pasted by an administrator. A
load adds one ``CalendarYear`` row per published year (with the pasted text, who and when)
and one ``CalendarDay`` row per listed day. Rows are never updated: a correction is a new
load, and for the same date the newest row wins, so the history of the calendar stays readable.
Rows with a ``county`` belong to that county's local notice and count only for its cases.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class CalendarYear(db.Model):  # type: ignore[name-defined,misc]
    """One year published by one load; the highest id is the calendar's version stamp."""

    __tablename__ = "calendar_years"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    loaded_by: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The notice exactly as pasted, so an auditor can compare it with the official text.
    source: Mapped[str] = mapped_column(Text, default="")
    # A county's local notice (its prefecture's days off); None for the State Council's.
    county: Mapped[str | None] = mapped_column(String(20), index=True, default=None)


class CalendarDay(db.Model):  # type: ignore[name-defined,misc]
    """A holiday (放假) or adjusted working day (调休上班) listed by a load."""

    __tablename__ = "calendar_days"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday
    name: Mapped[str] = mapped_column(String(100), default="")
    county: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    loaded_by: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
