"""The process library as designers see it: versions, drafts, validated deployment, diffs.

A deployment is the whole library at once (every BPMN and DMN file); a designer changes one
or two files, so a deployment from here starts from the newest version's files and replaces
those given. Nothing is stored unless every check passes.

Per county (issue 21): a deployment is the prefecture's (全州（市）, every county inherits it)
or one county's override (本县: only the files it changes). A county's designer deploys and
sees only for their county (and the prefecture's versions it inherits); a prefecture designer
chooses. The list says what each county actually runs: inherited, or with its own files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from server.engine.errors import DiagramError
from server.engine.migration import ElementDiff, diff_files
from server.engine.parser import SpecSet, file_kind, parse_files
from server.engine.validation import check_model, check_raw_files
from server.extensions import db
from server.models import County, Deployment, DeploymentFile, DesignDraft, Group, User
from server.services import processes
from server.services.calendar import require_county
from server.services.errors import (
    InvalidDiagramError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.forms import FormRegistry, form_file_name, form_registry, parse_form
from server.services.store import case_store

DESIGN_GROUPS = ("designer", "admin")
#: The deploy target "the whole prefecture" (州/市): every county inherits the deployment.
PREFECTURE = "*"


def require_designer(user: User | None) -> User:
    """Raises ``PermissionDeniedError`` unless the user designs or administers processes."""
    if user is None or not user.in_group(*DESIGN_GROUPS):
        raise PermissionDeniedError("only process designers and administrators may do this")
    return user


def deploy_target(user: User, asked: str | None = None) -> str | None:
    """The county a designer's deployment is for (None: the prefecture's, every county
    inherits it). A county's designer deploys for their own county only; a prefecture
    designer for the prefecture (``PREFECTURE`` or nothing asked) or the county named.
    Raises ``PermissionDeniedError``, ``ValidationFailedError`` (unknown county)."""
    asked = (asked or "").strip() or None
    if user.county is not None:
        if asked not in {None, user.county}:
            raise PermissionDeniedError(
                f"a designer of {user.county} deploys for their own county only")
        return user.county
    if asked is None or asked == PREFECTURE:
        return None
    require_county(asked)
    return asked


def deploy_targets(user: User) -> list[tuple[str, str]]:
    """The deploy targets offered to ``user`` (value, words): a county designer only 本县; a
    prefecture designer 全州（市） first, then each county's override."""
    if user.county is not None:
        county = db.session.get(County, user.county)
        name = county.name if county is not None else user.county
        return [(user.county, f"本县 Own county · {name}（覆盖 override）")]
    counties = db.session.execute(select(County).order_by(County.is_default.desc(),
                                                          County.code)).scalars()
    return [(PREFECTURE, "全州（市） Whole prefecture（各县继承 every county inherits）"),
            *((c.code, f"{c.name}（本县覆盖 county override）") for c in counties)]


def _runs_in(user: User) -> str | None:
    """The county whose library a designer edits: their own (None: the prefecture's)."""
    return user.county


def visible(user: User, deployment: Deployment) -> bool:
    """True when ``user`` may see ``deployment``: the prefecture's, or their county's (a
    prefecture designer sees every county's)."""
    return deployment.county is None or user.county in {None, deployment.county}


def get_deployment(user: User, number: int) -> Deployment:
    """A deployment ``user`` may see; another county's is not found."""
    deployment = processes.get_deployment(number)
    if not visible(user, deployment):
        raise NotFoundError(f"deployment {number} does not exist")
    return deployment


def _forms() -> FormRegistry:
    return form_registry()


def group_names() -> dict[str, str]:
    return {g.code: g.name for g in db.session.execute(select(Group)).scalars()}


def user_names() -> set[str]:
    """Who a literal ``camunda:assignee`` may name."""
    return set(db.session.execute(select(User.username)).scalars())


# ---- reading the library --------------------------------------------------------------
@dataclass
class LibraryEntry:
    """One process, decision or form and the deployments that carry it."""

    id: str
    name: str
    kind: str  # process | decision | form
    file: str
    versions: list[int] = field(default_factory=list)


@dataclass
class CountyRun:
    """What one county's new cases start on: its own override, or the prefecture's."""

    code: str
    name: str
    deployment: int | None  # the version its new cases start on
    inherits: int | None  # the prefecture version it inherits (with its own files in place)
    own: list[str]  # the files the county overrides; empty: inherited unchanged

    @property
    def inherited(self) -> bool:
        return not self.own


@dataclass
class Library:
    processes: list[LibraryEntry]
    decisions: list[LibraryEntry]
    forms: list[LibraryEntry]
    deployments: list[Deployment]
    drafts: list[DesignDraft]
    counties: list[CountyRun] = field(default_factory=list)
    county: str | None = None  # the designer's own county (None: the prefecture)

    @property
    def county_names(self) -> dict[str, str]:
        return {c.code: c.name for c in self.counties}


def deployments(user: User | None = None) -> list[Deployment]:
    """Every deployment, newest first; for ``user``, those they may see."""
    query = select(Deployment).order_by(Deployment.number.desc())
    if user is not None and user.county is not None:
        query = query.where((Deployment.county.is_(None)) | (Deployment.county == user.county))
    return list(db.session.execute(query).scalars())


def county_runs(user: User) -> list[CountyRun]:
    """For each county ``user`` may see (a county designer: their own), the version its new
    cases start on and the files it overrides."""
    query = select(County).order_by(County.is_default.desc(), County.code)
    if user.county is not None:
        query = query.where(County.code == user.county)
    prefecture = processes.latest_deployment()
    found = []
    for county in db.session.execute(query).scalars():
        own = processes.own_latest(county.code)
        if own is None:
            found.append(CountyRun(county.code, county.name,
                                   prefecture.number if prefecture else None,
                                   prefecture.number if prefecture else None, []))
            continue
        base = db.session.get(Deployment, own.base_id) if own.base_id else None
        names = db.session.execute(select(DeploymentFile.name).where(  # names, not contents
            DeploymentFile.deployment_id == own.id, DeploymentFile.inherited.is_(False))
            .order_by(DeploymentFile.name)).scalars()
        found.append(CountyRun(county.code, county.name, own.number,
                               base.number if base is not None else None, list(names)))
    return found


def spec_set_of(deployment: Deployment) -> SpecSet:
    return case_store().spec_set(deployment)


def library(user: User) -> Library:
    """Every process and decision with the versions that contain it, forms, and drafts."""
    found: dict[tuple[str, str], LibraryEntry] = {}
    all_deployments = deployments(user)
    for deployment in reversed(all_deployments):
        spec_set = spec_set_of(deployment)
        for container, (kind, name, file) in _containers(spec_set).items():
            entry = found.setdefault((kind, container), LibraryEntry(container, name, kind, file))
            entry.name, entry.file = name, file
            entry.versions.insert(0, deployment.number)
    runs = processes.latest_deployment(county=_runs_in(user))
    forms = [LibraryEntry(f.id, f.title, "form", f"{f.id}.form") for f in
             sorted(_forms().all(deployment_id=runs.id if runs else None),
                    key=lambda f: f.id)]
    drafts = list(db.session.execute(select(DesignDraft).where(DesignDraft.author ==
                                                                user.username)
                                     .order_by(DesignDraft.name)).scalars())
    entries = sorted(found.values(), key=lambda e: e.id)
    return Library([e for e in entries if e.kind == "process"],
                   [e for e in entries if e.kind == "decision"], forms, all_deployments, drafts,
                   county_runs(user), user.county)


def _containers(spec_set: SpecSet) -> dict[str, tuple[str, str, str]]:
    """Process and decision ids → (kind, name, file), read from the stored files."""

    found: dict[str, tuple[str, str, str]] = {}
    for source in spec_set.files:
        tag = "process" if source.kind == "bpmn" else "decision"
        for match in re.finditer(rf"<(?:\w+:)?{tag}\b([^>]*)>", source.content):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            if "id" in attrs:
                found[attrs["id"]] = (tag, attrs.get("name") or attrs["id"], source.name)
    return found


def deployment_file(user: User, number: int | None, name: str) -> tuple[Deployment, str]:
    """The content of one file of a deployment ``user`` may see (the newest their county
    runs by default); raises NotFound."""
    deployment = get_deployment(user, number) if number else \
        processes.latest_deployment(county=_runs_in(user))
    if deployment is None:
        raise NotFoundError("nothing is deployed yet")
    for stored in deployment.files:
        if stored.name == name:
            return deployment, stored.content
    raise NotFoundError(f"deployment {deployment.number} has no file {name!r}")


def form_source(user: User, form_id: str) -> str:
    """The text of a form as ``user``'s county runs it (the prefecture's newest for a
    prefecture designer); raises ``NotFoundError``."""
    newest = processes.latest_deployment(county=_runs_in(user))
    form = _forms().get(form_id, deployment_id=newest.id if newest is not None else None)
    texts = _forms().files_of(newest.id if newest is not None else None)
    text = texts.get(form_file_name(form.id))
    if text is None:
        raise NotFoundError(f"form {form_id!r} has no file")
    return text


# ---- validation and deployment --------------------------------------------------------
def _invalid(problems: list[dict[str, Any]]) -> InvalidDiagramError:
    first = problems[0]
    where = " ".join(x for x in (
        f"element {first['element_id']}" if first.get("element_id") else "",
        f"in {first['file']}" if first.get("file") else "",
        f"line {first['line']}" if first.get("line") else "") if x)
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return InvalidDiagramError(f"{first['message']}" + (f" — {where}" if where else "") + more,
                               element_id=first.get("element_id"), file=first.get("file"),
                               line=first.get("line"), problems=problems)


def _form_ids(county: str | None) -> set[str]:
    """The forms the library ``county`` runs holds (None: the prefecture's)."""
    newest = processes.latest_deployment(county=county)
    return _forms().ids(deployment_id=newest.id if newest is not None else None)


def validate(files: dict[str, bytes | str], *, county: str | None = None) -> SpecSet:
    """Parse with the hardened parser and the library, then run our checks on every element
    (the forms those of the library ``county`` runs, None: the prefecture's).

    Raises ``InvalidDiagramError`` whose ``problems`` lists each fault (element, file, line).
    """
    settings = current_app.config["GUANJIA"]
    try:
        spec_set = parse_files(files, max_bytes=settings.max_xml_bytes)
    except DiagramError as exc:
        problems = [exc.as_dict()]
        if exc.element_id is None:
            # The library's message may not say where; our checks often can.
            problems = _located(files, county) + problems
        raise _invalid(problems) from exc
    form_ids = _form_ids(county)
    found = check_model(spec_set, groups=group_names(), forms=form_ids, users=user_names())
    if found:
        raise _invalid([p.as_dict() for p in found])
    try:
        processes.validate_files(files, form_ids=form_ids)  # every deployment path's checks
    except InvalidDiagramError as exc:
        raise _invalid([{k: exc.extra.get(k) for k in ("element_id", "file", "line")}
                        | {"message": exc.detail}]) from exc
    return spec_set


def _located(files: dict[str, bytes | str], county: str | None) -> list[dict[str, Any]]:
    found = check_raw_files(files, groups=group_names(), forms=_form_ids(county),
                            max_bytes=current_app.config["GUANJIA"].max_xml_bytes,
                            users=user_names())
    return [p.as_dict() for p in found]


def _library_with(changes: dict[str, bytes | str], county: str | None = None
                  ) -> dict[str, bytes | str]:
    """The diagrams ``county`` runs (None: the prefecture's newest) with ``changes``."""
    newest = processes.latest_deployment(county=county)
    files: dict[str, bytes | str] = {}
    if newest is not None:
        files = {f.name: f.content for f in newest.files if f.kind in {"bpmn", "dmn"}}
    for name, content in changes.items():
        try:
            file_kind(name)
        except DiagramError as exc:
            raise InvalidDiagramError(exc.message, file=name, problems=[exc.as_dict()]) from exc
        files[name] = content
    return files


def check_changes(user: User, changes: dict[str, bytes | str], *, county: str | None = None
                  ) -> SpecSet:
    """Validate the library the target county runs (see ``deploy_target``) with ``changes``
    applied, storing nothing."""
    require_designer(user)
    target = deploy_target(user, county)
    return validate(_library_with(changes, target), county=target)


def deploy_changes(user: User, changes: dict[str, bytes | str], *, comment: str = "",
                   county: str | None = None) -> Deployment:
    """Deploy ``changes`` as a new version: of the prefecture's library (every county
    inherits it, a county's own files kept in place), or as one county's override
    (``deploy_target`` decides which). Audited with its county.

    Raises ``PermissionDeniedError``, ``InvalidDiagramError`` (nothing stored).
    """
    require_designer(user)
    target = deploy_target(user, county)
    files = _library_with(changes, target)
    validate(files, county=target)
    if target is None:
        deployment = processes.deploy(files, author=user.username, comment=comment)
    else:
        deployment = processes.deploy_for_county(target, changes, author=user.username,
                                                 comment=comment)
    db.session.execute(delete(DesignDraft).where(DesignDraft.author == user.username,
                                                 DesignDraft.name.in_(list(changes))))
    db.session.commit()
    return deployment


def deploy_form(user: User, content: str, *, county: str | None = None) -> str:
    """Deploy a form-js form as a new version of the library (the diagrams unchanged): the
    prefecture's, or one county's override (see ``deploy_target``).

    Cases already running keep the form versions of the deployment they started on; new
    cases and the newest deployment's tasks use this one. Audited with the deployment.
    Raises ``PermissionDeniedError``, ``ValidationFailedError`` (not a valid form, or the
    library would not deploy with it).
    """
    require_designer(user)
    try:
        form = parse_form(content, source="upload.form")
    except ValueError as exc:
        raise ValidationFailedError(str(exc), {"form": [str(exc)]}) from exc
    target = deploy_target(user, county)
    name = form_file_name(form.id)
    try:
        if target is None:
            newest = processes.latest_deployment()
            files: dict[str, bytes | str] = {}
            if newest is not None:
                files = {f.name: f.content for f in newest.files if f.kind in {"bpmn", "dmn"}}
            files[name] = content
            processes.deploy(files, author=user.username, comment=f"form {form.id}")
        else:  # the county's override: this form, its other own files kept
            processes.deploy_for_county(target, {name: content}, author=user.username,
                                        comment=f"form {form.id}")
    except InvalidDiagramError as exc:
        raise ValidationFailedError(exc.detail, {"form": [exc.detail]}) from exc
    db.session.execute(delete(DesignDraft).where(DesignDraft.author == user.username,
                                                 DesignDraft.name == name))
    db.session.commit()
    return form.id


# ---- drafts ---------------------------------------------------------------------------
def _draft_kind(name: str) -> str:
    if name.endswith(".form"):
        return "form"
    try:
        return file_kind(name)
    except DiagramError as exc:
        raise ValidationFailedError(exc.message, {"name": [exc.message]}) from exc


def save_draft(user: User, name: str, content: str, *, base: int | None = None) -> DesignDraft:
    """Keep a designer's unfinished file (one draft per file and author)."""
    require_designer(user)
    kind = _draft_kind(name)
    draft = db.session.execute(select(DesignDraft).where(
        DesignDraft.author == user.username, DesignDraft.name == name)).scalar_one_or_none()
    if draft is None:
        draft = DesignDraft(name=name, kind=kind, author=user.username, content=content,
                            base_deployment=base)
        db.session.add(draft)
    else:
        draft.content, draft.base_deployment = content, base or draft.base_deployment
    db.session.commit()
    return draft


def get_draft(user: User, name: str) -> DesignDraft | None:
    require_designer(user)
    return db.session.execute(select(DesignDraft).where(
        DesignDraft.author == user.username, DesignDraft.name == name)).scalar_one_or_none()


def discard_draft(user: User, name: str) -> None:
    require_designer(user)
    db.session.execute(delete(DesignDraft).where(DesignDraft.author == user.username,
                                                 DesignDraft.name == name))
    db.session.commit()


# ---- versions -------------------------------------------------------------------------
def diff(user: User, old_number: int, new_number: int) -> dict[str, ElementDiff]:
    """Per process and decision: elements added, removed, changed from one version to another
    (two ``user`` may see).

    Raises ``NotFoundError``.
    """
    old = spec_set_of(get_deployment(user, old_number))
    new = spec_set_of(get_deployment(user, new_number))
    return {k: v for k, v in diff_files(old.files, new.files).items() if not v.empty}


def export(number: int | None, target: Path) -> list[Path]:
    """Write a deployment's files (the newest by default) into a folder; returns the paths."""
    deployment = processes.get_deployment(number) if number else processes.latest_deployment()
    if deployment is None:
        raise NotFoundError("nothing is deployed yet")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for stored in deployment.files:
        path = target / Path(stored.name).name
        path.write_text(stored.content, encoding="utf-8")
        written.append(path)
    return written
