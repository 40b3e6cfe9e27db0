"""The approval item catalog (审批事项及材料清单, seed 004 attachment 10) as typed records.

The county edits ``server/data/catalog.csv`` as data; this module reads and validates it.
Columns: ``code, name, department, stage, materials, statutory_days, promised_days``.
``materials`` is a ``;``-separated list (the one-time notice, 一次性告知材料清单);
``statutory_days`` (法定时限) may be empty where the law sets none; both limits are working days
(行政许可法 Art. 82) and ``promised_days`` (承诺时限) may not exceed ``statutory_days``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: Engineering approval stages in order (seeds 003/004).
STAGES: tuple[str, ...] = (
    "投资主体确立/企业登记",
    "立项",
    "土地供应",
    "用地规划许可",
    "工程建设许可",
    "施工许可",
    "竣工验收",
)

#: Department group codes (docs/CONVENTIONS.md) that may own an item.
DEPARTMENTS: Mapping[str, str] = {
    "dept_fgj": "发改局",
    "dept_zrzy": "自然资源局",
    "dept_zjj": "住建局",
    "dept_sthj": "生态环境局",
    "dept_scjg": "市场监管局",
    "dept_sw": "水务局",
    "dept_lc": "林草局",
    "dept_yj": "应急管理局",
    "dept_sw_tax": "税务局",
}

COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "department",
    "stage",
    "materials",
    "statutory_days",
    "promised_days",
)
DEFAULT_CATALOG_FILE = "catalog.csv"

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class CatalogError(ValueError):
    """The catalog is invalid; ``problems`` lists ``(line, message)`` for every bad row."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {line}: {msg}" for line, msg in problems))


class UnknownCatalogItemError(KeyError):
    """No catalog item has the requested code."""


@dataclass(frozen=True)
class CatalogItem:
    """One approval item: who handles it, in which stage, what to bring, how long it may take."""

    code: str
    name: str
    department: str
    stage: str
    materials: tuple[str, ...]
    statutory_days: int | None
    promised_days: int

    @property
    def department_name(self) -> str:
        """The department's Chinese name, e.g. 发改局."""
        return DEPARTMENTS[self.department]

    def as_case_item(self) -> dict[str, str | int]:
        """The dict a case carries in ``items`` (docs/CONVENTIONS.md, case data)."""
        return {
            "code": self.code,
            "name": self.name,
            "department": self.department,
            "promised_days": self.promised_days,
        }


class Catalog:
    """The validated items in file order, looked up by code."""

    def __init__(self, items: tuple[CatalogItem, ...]) -> None:
        """Raises ValueError on duplicate codes (parse_catalog reports them by line)."""
        self.items = items
        self._by_code = {item.code: item for item in items}
        if len(self._by_code) != len(items):
            raise ValueError("duplicate item codes")

    @classmethod
    def default(cls) -> Catalog:
        """The bundled ``server/data/catalog.csv``. Raises CatalogError if it is invalid."""
        return _default_catalog()

    def get(self, code: str) -> CatalogItem:
        """The item with ``code``. Raises UnknownCatalogItemError."""
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownCatalogItemError(code) from None

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[CatalogItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def by_stage(self) -> dict[str, tuple[CatalogItem, ...]]:
        """Items grouped by stage, stages in procedure order (empty stages included)."""
        return {s: tuple(i for i in self.items if i.stage == s) for s in STAGES}

    def for_department(self, department: str) -> tuple[CatalogItem, ...]:
        """Items owned by one department group code."""
        return tuple(i for i in self.items if i.department == department)


def _days(value: str, column: str, *, required: bool) -> tuple[int | None, str | None]:
    value = value.strip()
    if not value:
        return (None, f"{column} is required") if required else (None, None)
    if not value.isdigit() or int(value) < 1:
        return None, f"{column} must be a whole number of working days >= 1, got {value!r}"
    return int(value), None


def _parse_row(row: dict[str, str], codes: set[str]) -> tuple[CatalogItem | None, list[str]]:
    errors: list[str] = []
    code = row["code"].strip()
    if not _CODE.match(code):
        errors.append(f"code must be snake_case ascii (2-64 chars), got {code!r}")
    elif code in codes:
        errors.append(f"duplicate code {code!r}")
    name = row["name"].strip()
    if not name:
        errors.append("name is required")
    department = row["department"].strip()
    if department not in DEPARTMENTS:
        errors.append(f"unknown department {department!r}; use one of {', '.join(DEPARTMENTS)}")
    stage = row["stage"].strip()
    if stage not in STAGES:
        errors.append(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")
    # Accept the full-width semicolon too: the list is typed in Chinese.
    materials = tuple(m.strip() for m in re.split(r"[;；]", row["materials"]) if m.strip())
    if not materials:
        errors.append("materials must list at least one document")
    statutory, err = _days(row["statutory_days"], "statutory_days", required=False)
    if err:
        errors.append(err)
    promised, err = _days(row["promised_days"], "promised_days", required=True)
    if err:
        errors.append(err)
    if statutory is not None and promised is not None and promised > statutory:
        errors.append(f"promised_days {promised} exceeds statutory_days {statutory}")
    if errors or promised is None:
        return None, errors
    return CatalogItem(code, name, department, stage, materials, statutory, promised), []


def parse_catalog(text: str) -> Catalog:
    """Parse and validate catalog CSV text (UTF-8, header row first, BOM tolerated).

    Raises CatalogError listing every bad row with its line number (the header is line 1).
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CatalogError([(1, f"missing column(s): {', '.join(missing)}")])
    reader.fieldnames = header
    items: list[CatalogItem] = []
    problems: list[tuple[int, str]] = []
    codes: set[str] = set()
    start = 2
    for row in reader:
        line = start  # first physical line of this record
        start = reader.line_num + 1
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        if None in row or any(row.get(c) is None for c in COLUMNS):
            problems.append((line, f"expected {len(header)} fields"))
            continue
        item, errors = _parse_row({c: row[c] for c in COLUMNS}, codes)
        problems.extend((line, e) for e in errors)
        if item is not None:
            codes.add(item.code)
            items.append(item)
    if problems:
        raise CatalogError(problems)
    if not items:
        raise CatalogError([(1, "the catalog lists no items")])
    return Catalog(tuple(items))


@cache
def _default_catalog() -> Catalog:
    text = resources.files("server.data").joinpath(DEFAULT_CATALOG_FILE).read_text("utf-8")
    return parse_catalog(text)
