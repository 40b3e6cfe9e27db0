"""Deploying process files as immutable, numbered, content-hashed versions."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from server.engine.errors import DiagramError
from server.engine.parser import SpecSet, parse_files
from server.engine.validation import Problem, check_model
from server.extensions import db
from server.models import Deployment, DeploymentFile, Group, ProcessDefinition, User
from server.services.audit import record_event
from server.services.errors import InvalidDiagramError, NotFoundError
from server.services.forms import FormRegistry, form_registry
from server.services.store import case_store

forms = form_registry


def check_spec_set(spec_set: SpecSet, registry: FormRegistry) -> list[Problem]:
    """Our own rules beyond the library's parse: forms, groups, timers, sandboxed code,
    called processes and decisions. Returns every problem, each naming its element."""
    groups = {g.code: g.name for g in db.session.execute(select(Group)).scalars()}
    users = set(db.session.execute(select(User.username)).scalars())
    return check_model(spec_set, groups=groups, forms=registry.ids(), users=users)


def validate_files(files: dict[str, bytes | str]) -> SpecSet:
    """Parse and check files without storing anything; raises ``InvalidDiagramError``."""
    settings = current_app.config["GUANJIA"]
    try:
        spec_set = parse_files(files, max_bytes=settings.max_xml_bytes)
    except DiagramError as exc:
        raise InvalidDiagramError(exc.message, **exc.as_dict()) from exc
    problems = check_spec_set(spec_set, forms())
    if problems:
        first = problems[0]
        raise InvalidDiagramError(first.message, **first.as_dict(),
                                  problems=[p.as_dict() for p in problems])
    return spec_set


def latest_deployment(process_id: str | None = None) -> Deployment | None:
    query = select(Deployment).order_by(Deployment.number.desc()).limit(1)
    if process_id is not None:
        query = query.join(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
    return db.session.execute(query).scalar_one_or_none()


def deploy(files: dict[str, bytes | str], *, author: str, comment: str = "") -> Deployment:
    """Validate and store a new version; the same content as the newest deploys nothing.

    Raises ``InvalidDiagramError`` and stores nothing when any file fails.
    """
    spec_set = validate_files(files)
    newest = latest_deployment()
    if newest is not None and newest.content_hash == spec_set.content_hash:
        return newest
    number = (db.session.execute(select(func.max(Deployment.number))).scalar() or 0) + 1
    deployment = Deployment(number=number, content_hash=spec_set.content_hash, author=author,
                            comment=comment)
    deployment.files = [DeploymentFile(name=f.name, kind=f.kind, sha256=f.sha256,
                                       content=f.content) for f in spec_set.files]
    deployment.definitions = [ProcessDefinition(process_id=p, name=spec_set.names.get(p, p))
                              for p in spec_set.process_ids()]
    db.session.add(deployment)
    db.session.flush()
    record_event(None, "deployment_created", actor=author, payload={
        "deployment": number, "content_hash": spec_set.content_hash, "comment": comment,
        "files": {f.name: f.sha256 for f in spec_set.files}})
    db.session.commit()
    case_store().remember_spec_set(deployment.id, spec_set)
    return deployment


def deploy_directory(path: Path, *, author: str = "system") -> Deployment:
    """Deploy every .bpmn/.dmn file of a folder (the shipped defaults in ``processes/``)."""
    files: dict[str, bytes | str] = {
        p.name: p.read_bytes() for p in sorted(path.iterdir())
        if p.suffix in {".bpmn", ".dmn"}
    }
    return deploy(files, author=author, comment=f"deployed from {path.name}/")


def get_deployment(number: int) -> Deployment:
    deployment = db.session.execute(
        select(Deployment).where(Deployment.number == number)).scalar_one_or_none()
    if deployment is None:
        raise NotFoundError(f"deployment {number} does not exist")
    return deployment
