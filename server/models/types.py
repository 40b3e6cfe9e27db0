"""Column types shared by the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone otherwise)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class HexDigest(TypeDecorator[str]):
    """A hash or MAC, given and read as lowercase hex, stored as its raw bytes: half the size.

    32 raw bytes read back as their hex. Anything else reads back as the text it was: rows
    written as hex text before this type (SQLite columns take any type, so they stay as they
    were; PostgreSQL's migration 0027 kept what was not canonical hex as its text) and values
    that are not canonical hex (upper case, other lengths), so a stored value never changes
    meaning and a malformed one still fails the checks that read it.
    """

    impl = String(128)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(LargeBinary())
        return dialect.type_descriptor(String(128))

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | bytes | None:
        if value is None:
            return None
        if len(value) == 64:
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raw = b""
            if raw.hex() == value:
                return raw
        return value.encode("utf-8") if dialect.name == "postgresql" else value

    def process_result_value(self, value: str | bytes | memoryview | None,
                             dialect: Dialect) -> str | None:
        if value is None or isinstance(value, str):
            return value
        raw = bytes(value)
        return raw.hex() if len(raw) == 32 else raw.decode("utf-8", "replace")


def compact_json(value: Any) -> str:
    """How JSON columns are written: no spaces, and Chinese as itself (3 bytes a character)
    rather than ``\\uXXXX`` (6). Reads back as the same value.

    Text that UTF-8 cannot hold (a lone surrogate from a client's ``\\ud800``) stays escaped,
    as every JSON column wrote it before.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value, separators=(",", ":"))
    return text
