"""Camunda Forms (form-js JSON) as the one source of every form's fields and rules.

The server renders a form from its ``.form`` file and validates a submission with a
marshmallow schema derived from the same file; nothing about a field is written twice.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from server.extensions import db
from server.models import Deployment, DeploymentFile
from server.services.errors import NotFoundError, ValidationFailedError

# form-js components that show something but carry no value
_DISPLAY_ONLY = {"text", "html", "image", "spacer", "separator", "button", "iframe", "table",
                 "expression"}
_CONTAINERS = {"group"}


FORM_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class FormField:
    key: str
    type: str
    label: str
    label_en: str
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""
    component: dict[str, Any] = field(default_factory=dict)


@dataclass
class FormDefinition:
    id: str
    title: str
    title_en: str
    components: list[dict[str, Any]]
    fields: list[FormField]
    path: Path | None = None
    #: the document's ``properties`` object (title, paper record number, …)
    properties: dict[str, Any] = field(default_factory=dict)
    _schema: type[Schema] | None = None
    #: The one instance that loads submissions, and the keys of the optional fields: built
    #: at the first submission, not at each (a schema instance copies every field; issue 18).
    _loader: tuple[Schema, frozenset[str]] | None = field(default=None, repr=False,
                                                          compare=False)

    def schema(self) -> type[Schema]:
        if self._schema is None:
            self._schema = _build_schema(self)
        return self._schema

    def _loading(self) -> tuple[Schema, frozenset[str]]:
        if self._loader is None:
            # marshmallow schemas keep no state between loads, so threads share one.
            self._loader = (self.schema()(unknown=RAISE),
                            frozenset(f.key for f in self.fields if not f.required))
        return self._loader

    def validate(self, data: Any, *, partial: bool = False) -> dict[str, Any]:
        """Return the cleaned submission; raises ``ValidationFailedError`` naming each field."""
        if not isinstance(data, dict):
            raise ValidationFailedError("the submission must be a JSON object",
                                        {"_schema": ["not an object"]})
        loader, optional = self._loading()
        # An optional field left blank in a browser arrives as ""; it means "not given".
        data = {k: v for k, v in data.items() if not (k in optional and v in ("", None))}
        try:
            loaded: dict[str, Any] = loader.load(data, partial=partial)
        except ValidationError as exc:
            raise ValidationFailedError(
                f"form {self.id}: {len(exc.messages)} field(s) are not valid",
                dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages},
            ) from exc
        return loaded


def _options(component: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(v.get("value")), str(v.get("label", v.get("value"))))
            for v in component.get("values") or [] if isinstance(v, dict)]


def _walk(components: list[dict[str, Any]], where: str = "components") -> list[dict[str, Any]]:
    found = []
    for i, component in enumerate(components):
        if not isinstance(component, dict):
            raise ValueError(f"{where}[{i}] is not an object with a type")
        if component.get("type") in _CONTAINERS:
            inner = component.get("components") or []
            if not isinstance(inner, list):
                raise ValueError(f"{where}[{i}].components is not a list")
            found.extend(_walk(inner, f"{where}[{i}].components"))
        elif component.get("key") and component.get("type") not in _DISPLAY_ONLY:
            found.append(component)
    return found


def parse_form(raw: str | bytes, *, source: str = "<form>",
               value_sources: dict[str, list[tuple[str, str]]] | None = None) -> FormDefinition:
    """Read a form-js JSON document; raises ``ValueError`` naming what is wrong."""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("components"), list):
        raise ValueError(f"{source}: a form needs a list of components")
    form_id = doc.get("id")
    if not form_id:
        raise ValueError(f"{source}: the form has no id")
    if not isinstance(form_id, str) or not FORM_ID.fullmatch(form_id):
        # The id names the form's file and the camunda:formKey that refers to it.
        raise ValueError(f"{source}: form id {str(form_id)[:80]!r} must start with a letter "
                         "and hold only letters, digits, '_' and '-' (at most 64)")
    seen: set[str] = set()
    form_fields = []
    try:
        components = _walk(doc["components"])
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    for component in components:
        key = str(component["key"])
        if key in seen:
            raise ValueError(f"{source}: field key {key!r} appears twice")
        seen.add(key)
        props = component.get("properties") or {}
        form_fields.append(FormField(
            key=key, type=str(component.get("type")),
            label=str(component.get("label") or key),
            label_en=str(props.get("label_en") or component.get("label") or key),
            required=bool((component.get("validate") or {}).get("required")),
            options=_options(component) or list(
                (value_sources or {}).get(str(component.get("valuesKey")), [])),
            description=str(component.get("description") or ""),
            component=component,
        ))
    props = doc.get("properties") or {}
    return FormDefinition(
        id=str(form_id), title=str(props.get("title") or form_id),
        title_en=str(props.get("title_en") or props.get("title") or form_id),
        components=doc["components"], fields=form_fields,
        properties=props if isinstance(props, dict) else {},
    )


def _date_text(value: str) -> None:
    try:
        (datetime if "T" in value else date).fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("not an ISO-8601 date or date-time") from exc


def _field_for(f: FormField) -> fields.Field[Any]:
    rules = f.component.get("validate") or {}
    checks: list[Any] = []
    kwargs: dict[str, Any] = {"required": f.required}
    if not f.required:
        kwargs["allow_none"] = True
    if f.type in {"number"}:
        if rules.get("min") is not None or rules.get("max") is not None:
            checks.append(validate.Range(min=rules.get("min"), max=rules.get("max")))
        return fields.Float(validate=checks, **kwargs)
    if f.type == "checkbox":
        return fields.Boolean(**kwargs)
    if f.type in {"checklist", "taglist"}:
        inner: fields.Field[Any] = fields.String(
            validate=validate.OneOf([v for v, _ in f.options]) if f.options else None)
        if f.required:
            checks.append(validate.Length(min=1))
        return fields.List(inner, validate=checks, **kwargs)
    if f.type in {"select", "radio"} and f.options:
        checks.append(validate.OneOf([v for v, _ in f.options]))
    if f.type == "datetime":
        checks.append(_date_text)
    if f.type == "dynamiclist":
        return fields.List(fields.Dict(), **kwargs)
    if rules.get("minLength") is not None or rules.get("maxLength") is not None:
        checks.append(validate.Length(min=rules.get("minLength"), max=rules.get("maxLength")))
    elif f.required:
        checks.append(validate.Length(min=1, error="必填 / required"))
    if rules.get("pattern"):
        checks.append(validate.Regexp(re.compile(str(rules["pattern"]))))
    return fields.String(validate=checks, **kwargs)


def _build_schema(form: FormDefinition) -> type[Schema]:
    attrs: dict[str, Any] = {f.key: _field_for(f) for f in form.fields}
    return Schema.from_dict(attrs, name=f"Form_{form.id}")


FORM_SUFFIX = ".form"


def form_file_name(form_id: str) -> str:
    """The name a form is stored under in a deployment (``<id>.form``)."""
    return f"{form_id}{FORM_SUFFIX}"


class FormRegistry:
    """The forms of each deployment, keyed by form id (the ``camunda:formKey``).

    Forms are part of a deployment's immutable version, like its diagrams: a case keeps the
    form versions of the deployment it was started on, and a new form version is a new
    deployment. The ``forms/`` folder is only the seed of the first deployment (and of a
    deployment stored before forms were versioned, which holds none of its own).

    Every set is read whole before anyone sees it, and the seed at construction, so no
    request can meet an empty or half-read registry (a fresh worker once answered valid
    completions with "form does not exist").
    """

    def __init__(self, forms_dir: Path,
                 value_sources: dict[str, list[tuple[str, str]]] | None = None) -> None:
        self.forms_dir = forms_dir
        # Options a form names by ``valuesKey`` (e.g. the item catalog), filled at load time.
        self.value_sources = value_sources or {}
        self._lock = threading.Lock()
        self._by_deployment: dict[int, dict[str, FormDefinition]] = {}
        self._seed_texts = self._read_seed()
        self._seed = self._parse_all(self._seed_texts)

    # ---- loading --------------------------------------------------------------------
    def _read_seed(self) -> dict[str, str]:
        if not self.forms_dir.is_dir():
            return {}
        return {p.name: p.read_text(encoding="utf-8")
                for p in sorted(self.forms_dir.glob(f"*{FORM_SUFFIX}"))}

    def _parse_all(self, texts: dict[str, str]) -> dict[str, FormDefinition]:
        forms = {}
        for name, text in texts.items():
            form = parse_form(text, source=name, value_sources=self.value_sources)
            forms[form.id] = form
        return forms

    def seed_files(self) -> dict[str, str]:
        """The ``forms/`` folder as read at start: file name → content."""
        return dict(self._seed_texts)

    def stored_files(self, deployment_id: int) -> dict[str, str]:
        """A deployment's own form files (name → content); empty for one stored before."""


        rows = db.session.execute(select(DeploymentFile.name, DeploymentFile.content).where(
            DeploymentFile.deployment_id == deployment_id,
            DeploymentFile.kind == "form")).all()
        return {name: content for name, content in rows}

    def files_of(self, deployment_id: int | None) -> dict[str, str]:
        """The form files a deployment runs with (its own, else the seed)."""
        if deployment_id is None:
            return self.seed_files()
        return self.stored_files(deployment_id) or self.seed_files()

    def _newest_deployment_id(self) -> int | None:

        if not has_app_context():
            return None  # a tool reading the shipped forms, not a served request

        # The prefecture's newest: a county's override is its own cases' only.
        value = db.session.execute(select(func.max(Deployment.id))
                                   .where(Deployment.county.is_(None))).scalar()
        return int(value) if value is not None else None

    def forms_of(self, deployment_id: int | None = None) -> dict[str, FormDefinition]:
        """Form id → form of a deployment (the newest by default); read once, kept."""
        if deployment_id is None:
            deployment_id = self._newest_deployment_id()
            if deployment_id is None:
                return self._seed
        found = self._by_deployment.get(deployment_id)
        if found is None:
            with self._lock:
                found = self._by_deployment.get(deployment_id)
                if found is None:
                    texts = self.stored_files(deployment_id)
                    found = self._parse_all(texts) if texts else self._seed
                    # Published whole: a deployment never changes once stored.
                    self._by_deployment[deployment_id] = found
        return found

    def reload(self) -> None:
        """Forget what was read of the deployments (kept for callers; they are immutable)."""
        with self._lock:
            self._by_deployment = {}

    # ---- answering ------------------------------------------------------------------
    def get(self, form_id: str, *, deployment_id: int | None = None) -> FormDefinition:
        """Return a form by id, as of a deployment (the newest by default).

        Raises ``NotFoundError``.
        """
        try:
            return self.forms_of(deployment_id)[form_id]
        except KeyError:
            raise NotFoundError(f"form {form_id!r} does not exist") from None

    def ids(self, *, deployment_id: int | None = None) -> set[str]:
        return set(self.forms_of(deployment_id))

    def all(self, *, deployment_id: int | None = None) -> list[FormDefinition]:
        return list(self.forms_of(deployment_id).values())


def form_registry() -> FormRegistry:
    """The forms of the current app (built once in ``create_app``)."""

    registry: FormRegistry = current_app.extensions["guanjia.forms"]
    return registry
