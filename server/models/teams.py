"""A case's steward team (项目管家服务团队): the named lead steward, co-agents and leader.

One row per case, written when the window forms the team (form ``steward_team``) and changed
only by a recorded decision (audit event ``team_changed``); new steward tasks of the case are
assigned from it (``server.rules.assignment``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class CaseTeam(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "case_teams"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    steward: Mapped[str] = mapped_column(String(80), index=True)
    leader: Mapped[str] = mapped_column(String(80), index=True)
    co_agents: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of usernames
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def co_agent_names(self) -> list[str]:
        return [str(n) for n in json.loads(self.co_agents or "[]")]
