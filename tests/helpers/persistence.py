"""The department items of the persistence tests."""

from __future__ import annotations

from typing import Any

DEPARTMENTS = ["dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj", "dept_scjg"]


def items(n: int) -> list[dict[str, Any]]:
    return [{"code": f"item{i:02d}", "name": f"事项{i:02d}", "department": DEPARTMENTS[i % 5],
             "promised_days": 3} for i in range(n)]
