"""Export audit events as CSV (one row per event, seq order) for spreadsheets and auditors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = ("seq", "case_id", "case_seq", "type", "actor", "role", "at", "task_id",
           "element_id", "element_name", "payload", "leaf_hash", "item_id", "item_name",
           "department")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, excel_safe: bool) -> str:
    if value is None:
        return ""
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                        sort_keys=True, default=str)
    # A cell starting with = + - @ is run as a formula by Excel/WPS: a form field could carry
    # one. Prefixing an apostrophe shows the text instead (the leaf hash still covers the raw
    # value in the log, so the CSV is a view, not evidence).
    if excel_safe and isinstance(value, str) and s.startswith(_FORMULA_START):
        s = "'" + s
    return s


def events_to_csv(events: Iterable[Mapping[str, Any]], *, excel_safe: bool = True) -> str:
    """CSV text (header + rows, ``\\r\\n`` line ends) of ``events`` sorted by ``seq``.

    ``payload`` is JSON in its cell. Raises ``KeyError`` for an event without ``seq``.
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for e in sorted(events, key=lambda e: e["seq"]):
        w.writerow([_cell(e.get(c), excel_safe) for c in COLUMNS])
    return buf.getvalue()


def events_to_csv_bytes(events: Iterable[Mapping[str, Any]], *, excel_safe: bool = True) -> bytes:
    """``events_to_csv`` as UTF-8 with a BOM, so that Excel opens the Chinese text correctly."""
    return events_to_csv(events, excel_safe=excel_safe).encode("utf-8-sig")
