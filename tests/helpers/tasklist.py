"""Rows and totals read off the task list's HTML."""

from __future__ import annotations

import re

ROW = re.compile(r'<tr data-task="([^"]+)" class="light-(\w+)">')


def rows(html: str) -> list[tuple[str, str]]:
    return ROW.findall(html)


def total(html: str) -> int:
    found = re.search(r'id="task-count">[^<]*<b>(\d+)</b>', html)
    assert found, html[:300]
    return int(found.group(1))
