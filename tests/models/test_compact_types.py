"""The column forms that make audit rows smaller (issue 18) give back what was stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from server.models.types import HexDigest, compact_json

DIALECTS = [sqlite.dialect(), postgresql.dialect()]


def test_json_is_written_without_spaces_and_chinese_as_itself() -> None:
    value = {"new": {"opinion": "同意", "items": [1, None, True]}}
    text = compact_json(value)
    assert text == '{"new":{"opinion":"同意","items":[1,null,true]}}'
    assert json.loads(text) == value


def test_text_utf8_cannot_hold_stays_escaped() -> None:
    value = {"note": "\ud800 lone"}
    text = compact_json(value)
    text.encode("utf-8")  # the database can store it
    assert text == '{"note":"\\ud800 lone"}' and json.loads(text) == value


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_a_digest_is_stored_as_its_32_bytes_and_read_back_as_the_same_hex(dialect: object) -> None:
    digest = HexDigest()
    hex_value = bytes(range(32)).hex()
    stored = digest.process_bind_param(hex_value, dialect)  # type: ignore[arg-type]
    assert stored == bytes(range(32))
    assert digest.process_result_value(stored, dialect) == hex_value  # type: ignore[arg-type]
    assert digest.process_result_value(memoryview(bytes(range(32))),
                                       dialect) == hex_value  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("value", ["AB" * 32, "ab" * 31, "not a hash", ""])
def test_anything_but_canonical_hex_reads_back_as_the_text_it_was(dialect: object,
                                                                   value: str) -> None:
    digest = HexDigest()
    stored = digest.process_bind_param(value, dialect)  # type: ignore[arg-type]
    assert digest.process_result_value(stored, dialect) == value  # type: ignore[arg-type]
    # And hex text written before the type existed (SQLite keeps such rows) reads unchanged.
    assert digest.process_result_value(value, dialect) == value  # type: ignore[arg-type]
