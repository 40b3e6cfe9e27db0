"""Deploying process files as immutable, numbered, content-hashed versions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from server.engine.errors import DiagramError
from server.engine.parser import SourceFile, SpecSet, bundle_hash, parse_files
from server.engine.validation import Problem, check_model
from server.extensions import db
from server.models import Deployment, DeploymentFile, Group, ProcessDefinition, User
from server.services.audit import record_event
from server.services.errors import InvalidDiagramError, NotFoundError
from server.services.forms import (
    FORM_SUFFIX,
    FormRegistry,
    form_file_name,
    form_registry,
    parse_form,
)
from server.services.store import case_store

forms = form_registry


def check_spec_set(spec_set: SpecSet, registry: FormRegistry,
                   form_ids: set[str] | None = None) -> list[Problem]:
    """Our own rules beyond the library's parse: forms, groups, timers, sandboxed code,
    called processes and decisions. Returns every problem, each naming its element.

    ``form_ids``: the forms the deployment will hold (default: the newest deployment's).
    """
    groups = {g.code: g.name for g in db.session.execute(select(Group)).scalars()}
    users = set(db.session.execute(select(User.username)).scalars())
    return check_model(spec_set, groups=groups, users=users,
                       forms=registry.ids() if form_ids is None else form_ids)


def validate_files(files: dict[str, bytes | str], *,
                   form_ids: set[str] | None = None) -> SpecSet:
    """Parse and check files without storing anything; raises ``InvalidDiagramError``."""
    settings = current_app.config["GUANJIA"]
    try:
        spec_set = parse_files(files, max_bytes=settings.max_xml_bytes)
    except DiagramError as exc:
        raise InvalidDiagramError(exc.message, **exc.as_dict()) from exc
    problems = check_spec_set(spec_set, forms(), form_ids)
    if problems:
        first = problems[0]
        raise InvalidDiagramError(first.message, **first.as_dict(),
                                  problems=[p.as_dict() for p in problems])
    return spec_set


def _text(content: bytes | str, name: str) -> str:
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDiagramError(f"{name} is not UTF-8 text", file=name) from exc


def form_files_for(given: dict[str, bytes | str], *, add_seed: bool = False
                   ) -> list[SourceFile]:
    """The forms a new deployment holds: the newest deployment's (the ``forms/`` folder for
    the first) with ``given`` ones replacing or adding; each parsed, its id its file name.

    ``add_seed`` also takes shipped forms the newest deployment lacks (a shipped process
    may name a new form). Raises ``InvalidDiagramError`` naming the file.
    """
    registry = forms()
    newest = latest_deployment()
    texts = registry.files_of(newest.id if newest is not None else None)
    if add_seed:
        texts = registry.seed_files() | texts
    for name, content in given.items():
        texts[name] = _text(content, name)
    found = []
    for name, text in sorted(texts.items()):
        try:
            form = parse_form(text, source=name)
        except ValueError as exc:
            raise InvalidDiagramError(str(exc), file=name) from exc
        if form_file_name(form.id) != name:
            raise InvalidDiagramError(f"{name}: a form's file is named by its id "
                                      f"({form_file_name(form.id)})", file=name)
        found.append(SourceFile(name, "form", text,
                                hashlib.sha256(text.encode()).hexdigest()))
    return found


def latest_deployment(process_id: str | None = None) -> Deployment | None:
    query = select(Deployment).order_by(Deployment.number.desc()).limit(1)
    if process_id is not None:
        query = query.join(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
    return db.session.execute(query).scalar_one_or_none()


def deploy(files: dict[str, bytes | str], *, author: str, comment: str = "",
           add_seed_forms: bool = False) -> Deployment:
    """Validate and store a new version; the same content as the newest deploys nothing.

    ``files`` holds .bpmn/.dmn files and may hold .form files; the forms not given are the
    newest deployment's (see ``form_files_for``), so every version carries its forms.
    Raises ``InvalidDiagramError`` and stores nothing when any file fails.
    """
    given_forms = {n: c for n, c in files.items() if n.endswith(FORM_SUFFIX)}
    diagrams = {n: c for n, c in files.items() if n not in given_forms}
    form_files = form_files_for(given_forms, add_seed=add_seed_forms)
    form_ids = {f.name.removesuffix(FORM_SUFFIX) for f in form_files}
    spec_set = validate_files(diagrams, form_ids=form_ids)
    content_hash = bundle_hash([*spec_set.files, *form_files])
    newest = latest_deployment()
    if newest is not None and newest.content_hash == content_hash:
        return newest
    number = (db.session.execute(select(func.max(Deployment.number))).scalar() or 0) + 1
    deployment = Deployment(number=number, content_hash=content_hash, author=author,
                            comment=comment)
    deployment.files = [DeploymentFile(name=f.name, kind=f.kind, sha256=f.sha256,
                                       content=f.content)
                        for f in [*spec_set.files, *form_files]]
    deployment.definitions = [ProcessDefinition(process_id=p, name=spec_set.names.get(p, p))
                              for p in spec_set.process_ids()]
    db.session.add(deployment)
    db.session.flush()
    record_event(None, "deployment_created", actor=author, payload={
        "deployment": number, "content_hash": content_hash, "comment": comment,
        "files": {f.name: f.sha256 for f in spec_set.files},
        "forms": {f.name: f.sha256 for f in form_files}})
    db.session.commit()
    case_store().remember_spec_set(deployment.id, spec_set)
    return deployment


def deploy_directory(path: Path, *, author: str = "system") -> Deployment:
    """Deploy every .bpmn/.dmn file of a folder (the shipped defaults in ``processes/``).

    Forms stay the newest deployment's, plus shipped forms it lacks; the first deployment
    takes every form of the ``forms/`` folder.
    """
    files: dict[str, bytes | str] = {
        p.name: p.read_bytes() for p in sorted(path.iterdir())
        if p.suffix in {".bpmn", ".dmn"}
    }
    return deploy(files, author=author, comment=f"deployed from {path.name}/",
                  add_seed_forms=True)


def get_deployment(number: int) -> Deployment:
    deployment = db.session.execute(
        select(Deployment).where(Deployment.number == number)).scalar_one_or_none()
    if deployment is None:
        raise NotFoundError(f"deployment {number} does not exist")
    return deployment
