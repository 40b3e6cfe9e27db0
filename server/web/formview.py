"""Between HTML forms and form-js definitions: posted fields → submission, values → text.

The ``.form`` file stays the one source: the page is rendered from its components (see
``templates/macros/form.html``) and the posted fields are shaped here only as far as HTML
requires (checkbox presence, multi-selects, empty inputs); the derived schema judges them.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import MultiDict

from server.rules.catalog import Catalog, UnknownCatalogItemError
from server.rules.staging import stage_items
from server.services.catalog import current_catalog
from server.services.forms import FormDefinition, FormField
from server.web.i18n import lang
from server.web.words import person_name

CATALOG_LIST_KEY = "items"


def submission(form: FormDefinition, posted: MultiDict[str, str],
               catalog: Catalog | None = None) -> dict[str, Any]:
    """The data a posted HTML form stands for; invalid text is left for the schema to judge.
    Items picked from the catalog are the ``catalog``'s (the case's or the user's county's;
    the prefecture's when not given)."""
    data: dict[str, Any] = {}
    for f in form.fields:
        if f.type == "checkbox":
            data[f.key] = posted.get(f.key) in {"on", "true", "1", "yes"}
            continue
        if f.type in {"checklist", "taglist"}:
            data[f.key] = posted.getlist(f.key)
            continue
        if f.type == "dynamiclist":
            value = _dynamic_list(f, posted, catalog)
            if value is not None:
                data[f.key] = value
            continue
        raw = posted.get(f.key)
        if raw is None or raw.strip() == "":
            # Left out when required, so the schema answers "required" whatever other rules
            # (maxLength, pattern) the field carries; an empty optional field is None.
            if not f.required:
                data[f.key] = None
            continue
        data[f.key] = raw.strip() if f.type != "textarea" else raw
    return data


def _dynamic_list(f: FormField, posted: MultiDict[str, str], catalog: Catalog | None) -> Any:
    if f.key == CATALOG_LIST_KEY and not f.component.get("components"):
        codes = posted.getlist(f"{f.key}__codes")
        if not codes:
            return None if not f.required else []
        catalog = catalog if catalog is not None else current_catalog()
        items = []
        for code in codes:
            try:
                items.append(catalog.get(code).as_case_item())
            except UnknownCatalogItemError:
                items.append({"code": code})
        return stage_items(items)
    raw = posted.get(f.key, "").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # the schema rejects it as not a list


def values_from_posted(posted: dict[str, list[str]]) -> dict[str, Any]:
    """Values to put back into the inputs from rescued or rejected posted fields."""
    out: dict[str, Any] = {}
    for key, values in posted.items():
        if key.endswith("__codes"):
            out[key] = values
        elif len(values) == 1:
            out[key] = values[0]
        else:
            out[key] = values
    return out


def values_from_data(form: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """Input values from saved data (a draft) for the template."""
    out: dict[str, Any] = {}
    for f in form.fields:
        if f.key not in data:
            continue
        value = data[f.key]
        if f.type == "dynamiclist" and f.key == CATALOG_LIST_KEY and isinstance(value, list):
            out[f"{f.key}__codes"] = [str(v.get("code")) for v in value if isinstance(v, dict)]
        elif f.type == "dynamiclist":
            out[f.key] = json.dumps(value, ensure_ascii=False)
        else:
            out[f.key] = value
    return out


def label_of(f: FormField) -> str:
    if lang() == "en":
        return f.label_en
    # form-js labels a date/time field with ``dateLabel``, not ``label``.
    return f.label if f.label != f.key else str(f.component.get("dateLabel") or f.key)


def display(f: FormField | None, value: Any) -> str:
    """A submitted value as a person reads it (option labels, 是/否, list items)."""
    yes, no = ("Yes", "No") if lang() == "en" else ("是", "否")
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yes if value else no
    options = dict(f.options) if f is not None else {}
    if f is not None and (f.component.get("properties") or {}).get("people"):
        # A field that picks people stores usernames: show who they are (words.person_name).
        names = [person_name(str(v)) for v in (value if isinstance(value, list) else [value])]
        return ("、" if lang() == "zh" else ", ").join(names)
    if isinstance(value, list):
        parts = []
        for v in value:
            if isinstance(v, dict):
                parts.append(str(v.get("name") or v.get("code")
                                 or json.dumps(v, ensure_ascii=False)))
            else:
                parts.append(options.get(str(v), str(v)))
        return "、".join(parts) if lang() == "zh" else ", ".join(parts)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return options.get(str(value), str(value))


def labelled(form: FormDefinition | None, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of submitted data in the form's order; unknown keys last."""
    if form is None:
        return [(k, display(None, v)) for k, v in data.items()]
    pairs = [(label_of(f), display(f, data.get(f.key))) for f in form.fields if f.key in data]
    known = {f.key for f in form.fields}
    pairs += [(k, display(None, v)) for k, v in data.items() if k not in known]
    return pairs


def catalog_choices(catalog: Catalog | None = None) -> list[Any]:
    """The items a form offers to pick: the ``catalog``'s (the case's or the user's county's;
    the prefecture's when not given)."""
    return list(catalog if catalog is not None else current_catalog())
