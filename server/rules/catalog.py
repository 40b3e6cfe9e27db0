"""The approval item catalog (审批事项及材料清单, seed 004 attachment 10) as typed records.

The county edits ``server/data/catalog.csv`` and ``server/data/departments.csv`` as data; this
module reads and validates them. The shipped files are an *example* a county replaces: check
each limit's statute and each item's level of authority against the county's own lists.

Catalog columns (the first seven are required, the rest may be left out of an older file):

``code, name, department, stage, materials, statutory_days, promised_days`` and
``level`` (county / prefecture / province: 审批层级 县 / 州(市) / 省 — above the county the
county forwards and tracks), ``prerequisites`` (前置事项: item codes, ``;``-separated),
``limit_kind`` (working / calendar: how both limits count — a statute that says 日, e.g.
环评法 or 建筑法, counts calendar days; 行政许可法 Art. 82 makes working days only of that law's
own limits), ``legal_basis`` (法定依据: where the limit comes from) and ``intermediaries``
(中介服务, ``;``-separated). ``materials`` is a ``;``-separated list (the one-time notice,
一次性告知材料清单); ``statutory_days`` (法定时限) may be empty where the law sets none;
``promised_days`` (承诺时限) may not exceed it.

Validation reports every problem with its line and changes nothing: unknown department, stage,
level or kind, an unknown prerequisite, a prerequisite cycle (named item by item).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

#: The four stages of engineering approval (国办发〔2019〕11号), after company set-up, in order.
STAGES: tuple[str, ...] = (
    "企业设立",
    "立项用地规划许可",
    "工程建设许可",
    "施工许可",
    "竣工验收",
    "其他",
)
#: The four stages the whole-project stage bar shows (国办发〔2019〕11号).
PROJECT_STAGES: tuple[str, ...] = STAGES[1:5]
#: Stage names of older catalog files, read as the stage they belong to now.
STAGE_ALIASES: Mapping[str, str] = {
    "投资主体确立/企业登记": "企业设立",
    "立项": "立项用地规划许可",
    "土地供应": "立项用地规划许可",
    "用地规划许可": "立项用地规划许可",
}
#: 审批层级: who decides. Above the county the county forwards and tracks (上级审批中).
LEVELS: Mapping[str, tuple[str, str]] = {
    "county": ("县级", "County"),
    "prefecture": ("州（市）级", "Prefecture"),
    "province": ("省级", "Province"),
}
#: How a limit counts: 工作日 or 自然日.
LIMIT_KINDS: Mapping[str, tuple[str, str]] = {
    "working": ("工作日", "working days"),
    "calendar": ("自然日", "calendar days"),
}

REQUIRED_COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "department",
    "stage",
    "materials",
    "statutory_days",
    "promised_days",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "level",
    "prerequisites",
    "limit_kind",
    "legal_basis",
    "intermediaries",
)
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DEFAULT_CATALOG_FILE = "catalog.csv"
DEFAULT_DEPARTMENTS_FILE = "departments.csv"

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_LIST = re.compile(r"[;；]")  # the full-width semicolon too: the lists are typed in Chinese


class CatalogError(ValueError):
    """The catalog is invalid; ``problems`` lists ``(line, message)`` for every bad row."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {line}: {msg}" for line, msg in problems))


class UnknownCatalogItemError(KeyError):
    """No catalog item has the requested code."""


@dataclass(frozen=True)
class Department:
    """A member unit that owns approval items; its code is also its users' group code."""

    code: str
    name: str
    name_en: str = ""


@dataclass(frozen=True)
class CatalogItem:
    """One approval item: who handles it, in which stage, after what, how long it may take."""

    code: str
    name: str
    department: str
    stage: str
    materials: tuple[str, ...]
    statutory_days: int | None
    promised_days: int
    level: str = "county"
    prerequisites: tuple[str, ...] = ()
    limit_kind: str = "working"
    legal_basis: str = ""
    intermediaries: tuple[str, ...] = ()
    department_name: str = field(default="", compare=False)

    @property
    def level_name(self) -> str:
        """审批层级 in Chinese, e.g. 州（市）级."""
        return LEVELS[self.level][0]

    @property
    def limit_kind_name(self) -> str:
        """工作日 or 自然日."""
        return LIMIT_KINDS[self.limit_kind][0]

    def as_case_item(self) -> dict[str, Any]:
        """The dict a case carries in ``items`` (docs/CONVENTIONS.md, case data)."""
        return {
            "code": self.code,
            "name": self.name,
            "department": self.department,
            "promised_days": self.promised_days,
            "statutory_days": self.statutory_days,
            "limit_kind": self.limit_kind,
            "level": self.level,
            "stage": self.stage,
            "prerequisites": list(self.prerequisites),
            "legal_basis": self.legal_basis,
        }


class Catalog:
    """The validated items in file order, looked up by code."""

    def __init__(self, items: tuple[CatalogItem, ...],
                 departments: Mapping[str, Department] | None = None) -> None:
        """Raises ValueError on duplicate codes (parse_catalog reports them by line)."""
        self.items = items
        self.departments: Mapping[str, Department] = dict(departments or {})
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


# ---- departments ---------------------------------------------------------------------------
def parse_departments(text: str) -> dict[str, Department]:
    """Parse ``code,name,name_en`` CSV. Raises CatalogError with located problems."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if "code" not in header or "name" not in header:
        raise CatalogError([(1, "missing column(s): code, name")])
    reader.fieldnames = header
    found: dict[str, Department] = {}
    problems: list[tuple[int, str]] = []
    for row in reader:
        line = reader.line_num
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        if not code and not name:
            continue
        if not _CODE.match(code):
            problems.append((line, f"department code must be snake_case ascii, got {code!r}"))
        elif code in found:
            problems.append((line, f"duplicate department {code!r}"))
        elif not name:
            problems.append((line, "department name is required"))
        else:
            found[code] = Department(code, name, (row.get("name_en") or "").strip())
    if problems:
        raise CatalogError(problems)
    return found


@cache
def default_departments() -> dict[str, Department]:
    """The shipped ``server/data/departments.csv`` (the member units of seed 004 §五(一))."""
    text = resources.files("server.data").joinpath(DEFAULT_DEPARTMENTS_FILE).read_text("utf-8")
    return parse_departments(text)


# ---- items ---------------------------------------------------------------------------------
def _days(value: str, column: str, *, required: bool) -> tuple[int | None, str | None]:
    value = value.strip()
    if not value:
        return (None, f"{column} is required") if required else (None, None)
    if not value.isdigit() or int(value) < 1:
        return None, f"{column} must be a whole number of days >= 1, got {value!r}"
    return int(value), None


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in _LIST.split(value or "") if v.strip())


def _parse_row(row: dict[str, str], codes: set[str],
               departments: Mapping[str, Department]) -> tuple[CatalogItem | None, list[str]]:
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
    if department not in departments:
        errors.append(f"unknown department {department!r}; use one of {', '.join(departments)}")
    stage = row["stage"].strip()
    stage = STAGE_ALIASES.get(stage, stage)
    if stage not in STAGES:
        errors.append(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")
    level = (row.get("level") or "").strip() or "county"
    if level not in LEVELS:
        errors.append(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    kind = (row.get("limit_kind") or "").strip() or "working"
    if kind not in LIMIT_KINDS:
        errors.append(f"unknown limit_kind {kind!r}; use one of {', '.join(LIMIT_KINDS)}")
    materials = _split(row["materials"])
    if not materials:
        errors.append("materials must list at least one document")
    prerequisites = _split(row.get("prerequisites") or "")
    if code in prerequisites:
        errors.append(f"item {code!r} lists itself as a prerequisite")
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
    owner = departments[department]
    return CatalogItem(code, name, department, stage, materials, statutory, promised,
                       level=level, prerequisites=prerequisites, limit_kind=kind,
                       legal_basis=(row.get("legal_basis") or "").strip(),
                       intermediaries=_split(row.get("intermediaries") or ""),
                       department_name=owner.name), []


def prerequisite_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle in ``code -> prerequisites`` as ``[a, b, …, a]``, or None when there is none.

    Prerequisites that are not keys of ``edges`` are ignored (reported elsewhere).
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in edges:
        if state.get(root):
            continue
        path: list[str] = [root]
        stack: list[Iterator[str]] = [iter(edges[root])]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges[nxt]))
    return None


def parse_catalog(text: str, departments: Mapping[str, Department] | None = None) -> Catalog:
    """Parse and validate catalog CSV text (UTF-8, header row first, BOM tolerated).

    ``departments`` are the known owners (default: the shipped departments file). Raises
    CatalogError listing every bad row with its line number (the header is line 1).
    """
    known = default_departments() if departments is None else departments
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogError([(1, f"missing column(s): {', '.join(missing)}")])
    reader.fieldnames = header
    present = [c for c in COLUMNS if c in header]
    items: list[CatalogItem] = []
    lines: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    codes: set[str] = set()
    start = 2
    for row in reader:
        line = start  # first physical line of this record
        start = reader.line_num + 1
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        if None in row or any(row.get(c) is None for c in present):
            problems.append((line, f"expected {len(header)} fields"))
            continue
        item, errors = _parse_row({c: row[c] for c in present}, codes, known)
        problems.extend((line, e) for e in errors)
        if item is not None:
            codes.add(item.code)
            lines[item.code] = line
            items.append(item)
    for item in items:
        for prerequisite in item.prerequisites:
            if prerequisite not in codes:
                problems.append((lines[item.code],
                                 f"unknown prerequisite {prerequisite!r} of item {item.code!r}"))
    cycle = prerequisite_cycle({i.code: i.prerequisites for i in items})
    if cycle is not None:
        problems.append((lines[cycle[0]], "prerequisite cycle: " + " → ".join(cycle)))
    if problems:
        raise CatalogError(sorted(problems, key=lambda p: p[0]))
    if not items:
        raise CatalogError([(1, "the catalog lists no items")])
    return Catalog(tuple(items), known)


@cache
def _default_catalog() -> Catalog:
    text = resources.files("server.data").joinpath(DEFAULT_CATALOG_FILE).read_text("utf-8")
    return parse_catalog(text)
