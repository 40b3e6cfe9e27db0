"""Deployed versions of the process library: immutable, numbered, content-hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class Deployment(db.Model):  # type: ignore[name-defined,misc]
    """One deployment of BPMN + DMN files; never changed once stored."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
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


class DeploymentFile(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "deployment_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
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
