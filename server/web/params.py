"""The one place the HTML views read ``request.args`` and ``request.form``.

A view names a schema (``server/schemas/pages.py``) and gets its parameters loaded, like the
JSON API loads its bodies (``server/web/api/routes.py``). Each schema is built once per
process. A value the schema refuses becomes ``ValidationFailedError`` with the field's
message in Chinese and English: a page that re-renders its form on a refused service call
(422 with inline messages) does the same for it, any other page shows the 422 error page;
either way nothing was changed. ``tests/web/test_params_only.py`` fails when a view reads the
request's form or query string anywhere else.

Task-form submissions are the exception: a user task's posted fields are validated by the
form definition in ``forms/`` (``server/services/forms.py``), so ``task_form_posted`` hands
them over untouched.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict

from server.services.errors import ValidationFailedError


@functools.cache
def _schema(cls: type[Schema]) -> Schema:
    """One instance per schema class: marshmallow 4 schemas keep no per-call state."""
    return cls()


def _flatten(schema: Schema, data: MultiDict[str, str]) -> dict[str, Any]:
    """The multi-dict as marshmallow reads it: a list field gets every value, others the
    first (what ``request.form.get`` gave the views before)."""
    out: dict[str, Any] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in data:
            out[key] = data.getlist(key) if isinstance(field, fields.List) else data.get(key)
    return out


def load(cls: type[Schema], data: MultiDict[str, str]) -> dict[str, Any]:
    """``data`` loaded with ``cls``; raises ``ValidationFailedError`` (422) naming the fields."""
    schema = _schema(cls)
    try:
        loaded: dict[str, Any] = schema.load(_flatten(schema, data))
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailedError("输入有误 / the input does not fit: "
                                    + ", ".join(sorted(errors)), errors) from exc
    return loaded


def query(cls: type[Schema]) -> dict[str, Any]:
    """The query string loaded with ``cls``."""
    return load(cls, request.args)


def posted(cls: type[Schema]) -> dict[str, Any]:
    """The posted form loaded with ``cls``."""
    return load(cls, request.form)


def query_or_posted(cls: type[Schema]) -> dict[str, Any]:
    """Query string and posted form together (the query string's value first), for a page
    whose form posts back to its own address with the same parameter."""
    return load(cls, request.values)


def as_typed() -> MultiDict[str, str]:
    """The posted form exactly as typed, to fill the form again after a refusal (never
    parsed: what the user sees is what they sent)."""
    return request.form


def typed() -> MultiDict[str, str]:
    """For templates (``typed()``): what a POST sent, to fill its form again; nothing on GET."""
    return request.form if request.method == "POST" else MultiDict()


def task_form_posted() -> MultiDict[str, str]:
    """A user task's posted form, validated by its ``.form`` definition, not by a schema."""
    return request.form


def link_args(loaded: dict[str, Any], *, defaults: dict[str, Any] | None = None,
              skip: tuple[str, ...] = ("page",)) -> dict[str, str]:
    """A list's loaded filters as query parameters for its page links: the set ones only
    (not empty, not the default), dates as ISO text."""
    defaults = defaults or {}
    return {k: (v.isoformat() if isinstance(v, date) else str(v))
            for k, v in loaded.items()
            if k not in skip and v not in (None, "", [], False) and v != defaults.get(k)}
