"""Whether a page fits the phone's width (no horizontal scroll)."""

from __future__ import annotations

from typing import Any


def fits(page: Any) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"))
