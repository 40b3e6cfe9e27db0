"""Deployed versions of the process library: immutable, numbered, content-hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class Deployment(db.Model):  # type: ignore[name-defined,misc]
    """One deployment of BPMN + DMN files; never changed once stored.

    ``county`` None: the prefecture's (州/市), which every county inherits. A county's
    deployment is its override: the prefecture's newest files (``base``) with the county's
    own (``DeploymentFile.inherited`` false) in their place, stored whole so that a case runs
    on one version (issue 21).
    """

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    county: Mapped[str | None] = mapped_column(String(20), default=None)
    # The prefecture deployment a county's was composed on (a deployment's id; no constraint,
    # so that SQLite added the column in place).
    base_id: Mapped[int | None] = mapped_column(Integer, default=None)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(String(80), default="system")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Loaded only when asked for: a case or task read must never pull diagram contents.
    files: Mapped[list[DeploymentFile]] = relationship(
        back_populates="deployment", lazy="select", order_by="DeploymentFile.name"
    )
    definitions: Mapped[list[ProcessDefinition]] = relationship(
        back_populates="deployment", lazy="select"
    )
    __table_args__ = (Index("ix_deployments_county_number", "county", "number"),)

    @property
    def own_files(self) -> list[DeploymentFile]:
        """The files this deployment's owner changed: all of a prefecture's, a county's
        overrides."""
        return [f for f in self.files if not f.inherited]


class DeploymentFile(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "deployment_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    # In a county's deployment: the prefecture's file, taken unchanged (False: the county's).
    inherited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deployment: Mapped[Deployment] = relationship(back_populates="files")
    __table_args__ = (UniqueConstraint("deployment_id", "name"),)


class ProcessDefinition(db.Model):  # type: ignore[name-defined,misc]
    """A process (BPMN process id) as contained in one deployment."""

    __tablename__ = "process_definitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    deployment: Mapped[Deployment] = relationship(back_populates="definitions")
    __table_args__ = (UniqueConstraint("deployment_id", "process_id"),)
