"""Text read out of a printed record (PDF), with whitespace squeezed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FIXTURE_FORMS = Path(__file__).parents[1] / "fixtures" / "forms"


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text as poppler reads it (scripts/ensure-browser.sh installs pdftotext)."""
    assert data.startswith(b"%PDF"), data[:40]
    source = tmp_path / "record.pdf"
    source.write_bytes(data)
    keep = Path(__file__).parents[2] / "test-artifacts" / "records"  # to look at by eye
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, keep / f"{tmp_path.name}-{len(list(keep.iterdir()))}.pdf")
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(source), "-"],
                         capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    """Layout spacing aside: the table cells' text without blanks between characters."""
    return "".join(text.split())
