"""Users, the groups they belong to (lanes, departments, roles), and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow

user_groups = Table(
    "user_groups",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_code", ForeignKey("groups.code", ondelete="CASCADE"), primary_key=True),
)


class Group(db.Model):  # type: ignore[name-defined,misc]
    """A candidate group: a lane, a department or a role (codes in docs/CONVENTIONS.md)."""

    __tablename__ = "groups"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="role")  # role | department


class Enterprise(db.Model):  # type: ignore[name-defined,misc]
    """An applying enterprise (项目建设单位); its users see only its own cases."""

    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    area: Mapped[str] = mapped_column(String(100), default="")


class User(db.Model):  # type: ignore[name-defined,misc]
    """A person who signs in. ``county`` is the county (县) whose cases the user works on and
    sees (``server.services.tenancy``); ``None`` means the prefecture (州/市): prefecture-wide
    users such as the 州 leaders and the 州 departments see every county's cases."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    area: Mapped[str] = mapped_column(String(100), default="")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    # The user's county (tenant, a ``counties.code`` as ``cases.county`` is: checked by the
    # services that set it); None: the prefecture, every county (see the docstring).
    county: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Moved on at sign-out, deactivation and a new password: every session signed in
    #: under an older version ends, on every device (``server/web/session.py``).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    groups: Mapped[list[Group]] = relationship(secondary=user_groups, lazy="selectin")
    enterprise: Mapped[Enterprise | None] = relationship(lazy="joined")

    @property
    def group_codes(self) -> frozenset[str]:
        return frozenset(g.code for g in self.groups)

    def in_group(self, *codes: str) -> bool:
        return not self.group_codes.isdisjoint(codes)


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship(lazy="joined")
