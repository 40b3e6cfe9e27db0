"""Deploying process files as immutable, numbered, content-hashed versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import ColumnElement, func, select

from server.engine.errors import DiagramError
from server.engine.parser import SourceFile, SpecSet, bundle_hash, file_kind, parse_files
from server.engine.validation import Problem, check_model
from server.extensions import db
from server.models import Deployment, DeploymentFile, Group, ProcessDefinition, User
from server.services.audit import record_event
from server.services.calendar import default_county
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


def _parsed_forms(texts: dict[str, str]) -> list[SourceFile]:
    """Each form text parsed, its id its file name; raises ``InvalidDiagramError``."""
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


def form_files_for(given: dict[str, bytes | str], *, add_seed: bool = False
                   ) -> list[SourceFile]:
    """The forms a new prefecture deployment holds: the prefecture's newest (the ``forms/``
    folder for the first) with ``given`` ones replacing or adding; each parsed, its id its
    file name.

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
    return _parsed_forms(texts)


def _owned_by(county: str | None) -> ColumnElement[bool]:
    return Deployment.county.is_(None) if county is None else Deployment.county == county


def own_latest(county: str | None, process_id: str | None = None) -> Deployment | None:
    """The newest deployment of ``county``'s own (None: the prefecture's), or None."""
    query = (select(Deployment).where(_owned_by(county))
             .order_by(Deployment.number.desc()).limit(1))
    if process_id is not None:
        query = query.join(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
    return db.session.execute(query).scalar_one_or_none()


def latest_deployment(process_id: str | None = None, *, county: str | None = None
                      ) -> Deployment | None:
    """The deployment a new case starts on: with ``county``, that county's newest override
    when it has one, else the prefecture's newest (which every county inherits); without,
    the prefecture's newest."""
    if county is not None:
        found = own_latest(county, process_id)
        if found is not None:
            return found
    return own_latest(None, process_id)


def latest_for(user: User, process_id: str | None = None) -> Deployment | None:
    """The deployment a case ``user`` files starts on: their county's (a prefecture user
    files for the installation's default county)."""
    return latest_deployment(process_id, county=user.county or default_county())


def overriding_counties() -> list[str]:
    """The counties with deployments of their own (their overrides), by code."""
    return sorted(c for c in db.session.execute(
        select(Deployment.county).where(Deployment.county.is_not(None)).distinct()).scalars()
        if c is not None)


@dataclass
class _Bundle:
    """A validated library ready to store: its diagrams' specs, forms and hash."""

    spec_set: SpecSet
    form_files: list[SourceFile]
    content_hash: str
    own: set[str] = field(default_factory=set)  # a county's overridden file names

    @property
    def files(self) -> list[SourceFile]:
        return [*self.spec_set.files, *self.form_files]


def _validated(diagrams: dict[str, bytes | str], form_files: list[SourceFile]) -> _Bundle:
    form_ids = {f.name.removesuffix(FORM_SUFFIX) for f in form_files}
    spec_set = validate_files(diagrams, form_ids=form_ids)
    return _Bundle(spec_set, form_files, bundle_hash([*spec_set.files, *form_files]))


def _county_bundle(county: str, base: dict[str, str], version: int, own: dict[str, str]
                   ) -> _Bundle:
    """``county``'s library: the prefecture's files (``base``, of ``version``) with the
    county's ``own`` in their place. Raises ``InvalidDiagramError`` naming the county."""
    texts = base | own
    form_texts = {n: t for n, t in texts.items() if n.endswith(FORM_SUFFIX)}
    diagrams: dict[str, bytes | str] = {n: t for n, t in texts.items() if n not in form_texts}
    try:
        bundle = _validated(diagrams, _parsed_forms(form_texts))
    except InvalidDiagramError as exc:
        raise InvalidDiagramError(
            f"{county}: the county's own files do not run with version {version}: "
            f"{exc.detail}", **{**exc.extra, "county": county}) from exc
    bundle.own = set(own)
    return bundle


def _store(bundle: _Bundle, *, county: str | None, base: Deployment | None, author: str,
           comment: str) -> Deployment:
    """Add a validated library as the next version, audited with its county; the caller
    commits."""
    number = (db.session.execute(select(func.max(Deployment.number))).scalar() or 0) + 1
    deployment = Deployment(number=number, content_hash=bundle.content_hash, author=author,
                            comment=comment, county=county,
                            base_id=base.id if base is not None else None)
    inherited = county is not None
    deployment.files = [DeploymentFile(name=f.name, kind=f.kind, sha256=f.sha256,
                                       content=f.content,
                                       inherited=inherited and f.name not in bundle.own)
                        for f in bundle.files]
    deployment.definitions = [ProcessDefinition(process_id=p,
                                                name=bundle.spec_set.names.get(p, p))
                              for p in bundle.spec_set.process_ids()]
    db.session.add(deployment)
    db.session.flush()
    # Every file's hash (the audit check compares each stored file with it); a county's
    # event also names the files that are its own, and the prefecture version it inherits.
    record_event(None, "deployment_created", actor=author, payload={
        "deployment": number, "county": county,
        "base": base.number if base is not None else None,
        "own": sorted(bundle.own) if county is not None else None,
        "content_hash": bundle.content_hash, "comment": comment,
        "files": {f.name: f.sha256 for f in bundle.spec_set.files},
        "forms": {f.name: f.sha256 for f in bundle.form_files}})
    return deployment


def deploy(files: dict[str, bytes | str], *, author: str, comment: str = "",
           add_seed_forms: bool = False) -> Deployment:
    """Validate and store a new version of the prefecture's library (every county inherits
    it); the same content as the newest deploys nothing.

    ``files`` holds .bpmn/.dmn files and may hold .form files; the forms not given are the
    newest deployment's (see ``form_files_for``), so every version carries its forms.
    Each county with overrides gets a new version too: the new files with its own in their
    place, so its cases start on the new version with its changes kept. Raises
    ``InvalidDiagramError`` and stores nothing when any file fails, or when a county's own
    files would not run with the new version (naming the county).
    """
    given_forms = {n: c for n, c in files.items() if n.endswith(FORM_SUFFIX)}
    diagrams = {n: c for n, c in files.items() if n not in given_forms}
    bundle = _validated(diagrams, form_files_for(given_forms, add_seed=add_seed_forms))
    newest = latest_deployment()
    if newest is not None and newest.content_hash == bundle.content_hash:
        return newest
    number = (db.session.execute(select(func.max(Deployment.number))).scalar() or 0) + 1
    texts = {f.name: f.content for f in bundle.files}
    counties = []
    for county in overriding_counties():  # every county checked before anything is stored
        current = own_latest(county)
        assert current is not None
        own = {f.name: f.content for f in current.own_files}
        counties.append((county, _county_bundle(county, texts, number, own)))
    deployment = _store(bundle, county=None, base=None, author=author, comment=comment)
    stored = [(_store(county_bundle, county=county, base=deployment, author=author,
                      comment=f"inherits version {deployment.number}"), county_bundle)
              for county, county_bundle in counties]
    db.session.commit()
    case_store().remember_spec_set(deployment.id, bundle.spec_set)
    for county_deployment, county_bundle in stored:
        case_store().remember_spec_set(county_deployment.id, county_bundle.spec_set)
    return deployment


def deploy_for_county(county: str, files: dict[str, bytes | str], *, author: str,
                      comment: str = "") -> Deployment:
    """Store ``county``'s override: its own .bpmn/.dmn/.form files (``files`` and those it
    overrode before) in place of the prefecture's newest. The county's new cases start on
    it; every other county's are unchanged. The same library as the county's newest deploys
    nothing. Raises ``InvalidDiagramError`` (nothing stored), ``NotFoundError`` (nothing
    of the prefecture's to inherit yet).
    """
    base = latest_deployment()
    if base is None:
        raise NotFoundError("the prefecture has deployed nothing for a county to inherit")
    current = own_latest(county)
    own = {f.name: f.content for f in current.own_files} if current is not None else {}
    for name, content in files.items():
        if not name.endswith(FORM_SUFFIX):
            try:
                file_kind(name)
            except DiagramError as exc:
                raise InvalidDiagramError(exc.message, **exc.as_dict()) from exc
        own[name] = _text(content, name)
    bundle = _county_bundle(county, {f.name: f.content for f in base.files}, base.number,
                            own)
    if current is not None and current.content_hash == bundle.content_hash and \
            {f.name for f in current.own_files} == bundle.own:
        return current
    deployment = _store(bundle, county=county, base=base, author=author, comment=comment)
    db.session.commit()
    case_store().remember_spec_set(deployment.id, bundle.spec_set)
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
