"""Which form fields are internal: seen by the county's staff, never by the enterprise.

A form marks a field internal with ``"properties": {"visibility": "internal"}`` (the review
and sign-off opinions ship so); the county may change that per field on its setting page
(本县设置: the seeds do not say which opinions an enterprise may read). The enterprise's task
pages, portal and printed records leave internal fields out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import FieldVisibility, User
from server.services import audit
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError
from server.services.forms import FormDefinition, form_registry

SETTERS = ("admin",)


def form_default(field: Any) -> bool:
    """True when the form itself marks the field internal."""
    component = getattr(field, "component", None) or {}
    return str((component.get("properties") or {}).get("visibility", "")).lower() == "internal"


def _overrides(form_keys: Iterable[str]) -> dict[tuple[str, str], bool]:
    keys = sorted(set(form_keys))
    if not keys:
        return {}
    return {(r.form_key, r.field_key): bool(r.internal) for r in db.session.execute(
        select(FieldVisibility).where(FieldVisibility.form_key.in_(keys))).scalars()}


def internal_keys(form: FormDefinition | None) -> set[str]:
    """The keys of ``form``'s internal fields, the county's choice over the form's default."""
    if form is None:
        return set()
    chosen = _overrides([form.id])
    return {f.key for f in form.fields
            if chosen.get((form.id, f.key), form_default(f))}


def sees_internal(user: User) -> bool:
    """Staff see internal fields; a person who is only an enterprise's agent does not."""
    return bool(user.group_codes - {"enterprise"})


def visible_data(user: User, form: FormDefinition | None, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the internal fields, unless the user is staff."""
    if sees_internal(user):
        return data
    hidden = internal_keys(form)
    return {k: v for k, v in data.items() if k not in hidden}


@dataclass
class FieldRow:
    form_key: str
    form_title: str
    field_key: str
    label: str
    internal: bool
    form_default: bool


def field_rows() -> list[FieldRow]:
    """Every field of every form with its current visibility, for the setting page."""
    forms = sorted(form_registry().all(), key=lambda f: f.id)
    chosen = _overrides(f.id for f in forms)
    rows = []
    for form in forms:
        for f in form.fields:
            default = form_default(f)
            rows.append(FieldRow(form.id, form.title, f.key, f.label or f.key,
                                 chosen.get((form.id, f.key), default), default))
    return rows


def set_internal(user: User, internal: set[tuple[str, str]]) -> int:
    """Make exactly the (form, field) pairs in ``internal`` internal; commits with one audit
    event ``field_visibility_changed`` naming what changed; returns how many changed.

    Raises ``PermissionDeniedError`` unless the user administers the county,
    ``ValidationFailedError`` for a pair that is not a field of a form."""
    if not user.in_group(*SETTERS):
        raise PermissionDeniedError("only the county's administrators set field visibility")
    rows = field_rows()
    known = {(r.form_key, r.field_key) for r in rows}
    unknown = sorted(f"{a}.{b}" for a, b in internal - known)
    if unknown:
        raise ValidationFailedError("unknown form fields", {"fields": unknown[:10]})
    changed = []
    now = clock.now()
    for r in rows:
        want = (r.form_key, r.field_key) in internal
        if want == r.internal:
            continue
        existing = db.session.get(FieldVisibility, (r.form_key, r.field_key))
        if existing is None:
            db.session.add(FieldVisibility(form_key=r.form_key, field_key=r.field_key,
                                           internal=want, updated_by=user.username,
                                           updated_at=now))
        else:
            existing.internal, existing.updated_by, existing.updated_at = want, user.username, now
        changed.append({"form": r.form_key, "field": r.field_key, "internal": want})
    if changed:
        audit.record_event(None, "field_visibility_changed", actor=user.username,
                           payload={"changed": changed})
    db.session.commit()
    return len(changed)


def require_form(form_key: str) -> FormDefinition:
    registry = form_registry()
    if form_key not in registry.ids():
        raise NotFoundError(f"no form {form_key}")
    return registry.get(form_key)
