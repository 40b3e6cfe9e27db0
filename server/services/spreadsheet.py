"""Spreadsheets (.xlsx) for reports, scorecards and lists: one writer, openpyxl underneath.

Every export that a clerk hands in as a spreadsheet goes through ``workbook``: a title row,
a bold header row, the data rows, column widths fitted to Chinese text, and the header frozen.
Values are written as values (numbers stay numbers, dates stay dates), never as formulas: a
cell an enterprise typed starting with ``=`` is text, so opening the file runs nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Alignment, Font

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its tab name, an optional title line, the headers and the rows."""

    name: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    title: str = ""
    notes: Sequence[str] = field(default_factory=tuple)


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    # A CJK character is about two Latin ones wide in Excel's default font.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _cell_value(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, date, datetime)):
        return value.replace(tzinfo=None) if isinstance(value, datetime) else value
    return str(value)


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx bytes of ``sheets`` (at least one)."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    book = Workbook()
    book.remove(book.active)
    for spec in sheets:
        ws = book.create_sheet(title=spec.name[:31])
        widths = [_width(h) for h in spec.headers]
        if spec.title:
            ws.append([spec.title])
            ws.cell(row=1, column=1).font = Font(bold=True, size=14)
        ws.append(list(spec.headers))
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in spec.rows:
            values = [_cell_value(v) for v in row]
            ws.append(values)
            for i, v in enumerate(values):
                if isinstance(v, str):
                    ws.cell(row=ws.max_row, column=i + 1).data_type = TYPE_STRING
                if i < len(widths):
                    widths[i] = max(widths[i], min(_width(v), 60))
        for note in spec.notes:
            ws.append([note])
        for i, w in enumerate(widths):
            ws.column_dimensions[ws.cell(row=header_row, column=i + 1).column_letter].width = w + 2
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
