"""Request JSON that the database or the parser cannot take is refused as a client error.

Nested a few thousand deep, ``json.loads`` raises ``RecursionError`` (a 500 before); a lone
surrogate (``"\\ud800"``) cannot be encoded as UTF-8, and PostgreSQL text cannot hold NUL, so
both failed only when written. Here they are a ``ValueError`` at parse time, which Flask turns
into 400 (and ``get_json(silent=True)`` into "not JSON", a 422).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64
# Only text escaping a surrogate or NUL can decode to one: the walk runs only then.
_SUSPECT = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")


def check_text(value: str, where: str = "a value") -> None:
    """Raises ``ValueError`` for text no database column can store."""
    if "\x00" in value:
        raise ValueError(f"{where} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where} contains a lone surrogate (not UTF-8)") from exc


def _walk(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, "a key")
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)


def _depth(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for item in value.values():
            if isinstance(item, dict | list):
                _depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                _depth(item, depth + 1)


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing depth bombs, lone surrogates and NUL in what it reads."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode("utf-8") if isinstance(s, bytes) else s
        try:
            value = super().loads(text, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc
        if _SUSPECT.search(text):
            _walk(value)
        elif text.count("[") + text.count("{") > MAX_DEPTH:
            # Deeper than MAX_DEPTH takes more opening brackets than that; most bodies
            # have a handful, and then the walk over every value is not needed.
            _depth(value)
        return value


def init_request_guards(app: Flask) -> None:
    """Refuse (400) a NUL character in the path, the query or a posted form."""

    @app.before_request
    def _no_nul() -> None:
        # An empty query (every API post) has no arguments to parse.
        if "\x00" in request.path or (request.query_string and any(
                "\x00" in v for v in request.args.values())):
            abort(400, "the address contains a NUL character")
        if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"} \
                and any("\x00" in v for v in request.form.values()):
            abort(400, "a form field contains a NUL character")
