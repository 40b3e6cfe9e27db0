"""The project as a whole: its national code, its whole-project target and clock, its stages.

Pure rules. The national investment project code (全国投资项目在线审批监管平台 项目代码,
GB/T 40058-2021 全国固定资产投资项目代码编码规范) is 24 characters: five groups of digits
joined by hyphens — year (4), region (6, the administrative division code), the central guiding
department (2), project type (2) and a random part with its check digit (6), e.g.
``2026-532326-04-01-123456``. Only the shape is checked here (the check digit's algorithm is
the platform's); a bad code is reported group by group.

Whole-project targets (seed 003, 滨海高新区, 房建 projects: 160 days for private or foreign,
60 for simple low-risk factories, 210 for state-owned, "天" — calendar days — from the land
transfer contract to the construction permit) are data: ``server/data/project_targets.csv``,
one row per project type and ownership, with an optional county column (blank: every county)
and the warning days before the end (the county's setting: the seeds are silent on it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from server.rules.catalog import PROJECT_STAGES, CatalogError

OWNERSHIPS: Mapping[str, tuple[str, str]] = {
    "private": ("民营", "Private"),
    "foreign": ("外资", "Foreign"),
    "state_owned": ("国有", "State-owned"),
}
PROJECT_TYPES: Mapping[str, tuple[str, str]] = {
    "building": ("房屋建筑", "Building"),
    "simple_low_risk": ("简易低风险厂房", "Simple low-risk factory"),
    "other": ("其他", "Other"),
}
CODE_GROUPS: tuple[tuple[str, int], ...] = (
    ("年份代码", 4), ("地区代码", 6), ("中央业务指导部门代码", 2), ("项目类型代码", 2),
    ("随机码和校验码", 6))
_GROUP = re.compile(r"^\d+$")


def project_code_problems(code: str, *, this_year: int) -> list[str]:
    """What is wrong with a project code, group by group; empty when its shape is right."""
    code = code.strip()
    if len(code) != 24 or code.count("-") != 4:
        return [f"项目代码应为24位（5组数字以“-”连接，如 2026-532326-04-01-123456），"
                f"实为{len(code)}位：{code!r}"]
    problems = []
    for n, (part, (name, width)) in enumerate(zip(code.split("-"), CODE_GROUPS, strict=True), 1):
        if len(part) != width or not _GROUP.match(part):
            problems.append(f"第{n}组（{name}）应为{width}位数字，实为 {part!r}")
    if not problems:
        year, region = int(code[:4]), code[5:11]
        if not 2015 <= year <= this_year + 1:
            problems.append(f"第1组（年份代码）{year} 不是赋码年份（2015年至今）")
        if not 11 <= int(region[:2]) <= 82:
            problems.append(f"第2组（地区代码）{region} 不是行政区划代码")
    return problems


@dataclass(frozen=True)
class ProjectTarget:
    """How long a project of one type and ownership may take, from land contract to permit."""

    county: str
    project_type: str
    ownership: str
    target_days: int
    day_kind: str
    warn_days: int
    basis: str


def parse_targets(text: str) -> list[ProjectTarget]:
    """Parse the targets CSV; raises ``CatalogError`` with located problems."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    out, problems = [], []
    for row in reader:
        line = reader.line_num
        kind = (row.get("project_type") or "").strip()
        owner = (row.get("ownership") or "").strip()
        days, warn = (row.get("target_days") or "").strip(), (row.get("warn_days") or "0").strip()
        if kind not in PROJECT_TYPES:
            problems.append((line, f"unknown project_type {kind!r}"))
        if owner not in OWNERSHIPS:
            problems.append((line, f"unknown ownership {owner!r}"))
        if not days.isdigit() or not warn.isdigit():
            problems.append((line, "target_days and warn_days must be whole numbers"))
        day_kind = (row.get("day_kind") or "calendar").strip()
        if day_kind != "calendar":
            problems.append((line, "day_kind must be calendar (seed 003 counts 天)"))
        if not problems:
            out.append(ProjectTarget((row.get("county") or "").strip(), kind, owner, int(days),
                                     day_kind, int(warn), (row.get("basis") or "").strip()))
    if problems:
        raise CatalogError(problems)
    return out


@cache
def default_targets() -> tuple[ProjectTarget, ...]:
    text = resources.files("server.data").joinpath("project_targets.csv").read_text("utf-8")
    return tuple(parse_targets(text))


def target_for(targets: Iterable[ProjectTarget], project_type: str | None,
               ownership: str | None, county: str = "") -> ProjectTarget | None:
    """The county's own row if it has one, else the installation default (blank county)."""
    rows = [t for t in targets if t.project_type == project_type and t.ownership == ownership]
    return next((t for t in rows if t.county == county and county), None) or next(
        (t for t in rows if not t.county), None)


@dataclass(frozen=True)
class ProjectClock:
    start: date
    due: date
    used_days: int
    left_days: int
    light: str  # green | yellow | red
    stopped: bool  # the permit is out: the clock stands


def project_clock(target: ProjectTarget, land_contract: date, today: date,
                  finished: date | None = None) -> ProjectClock:
    """Days used and left of the whole-project target, counted in calendar days (天)."""
    end = finished or today
    due = land_contract + timedelta(days=target.target_days)
    left = (due - end).days
    light = "red" if left < 0 else "yellow" if left <= target.warn_days else "green"
    return ProjectClock(land_contract, due, (end - land_contract).days, left, light,
                        finished is not None)


@dataclass(frozen=True)
class StageStep:
    stage: str
    total: int
    done: int

    @property
    def state(self) -> str:
        if self.total == 0:
            return "none"
        return "done" if self.done == self.total else "active" if self.done else "todo"


def stage_bar(items: Sequence[Mapping[str, Any]], done: set[str]) -> list[StageStep]:
    """The four stages (国办发〔2019〕11号) with how many of the case's items are done."""
    return [StageStep(s, sum(1 for i in items if i.get("stage") == s),
                      sum(1 for i in items if i.get("stage") == s and i.get("code") in done))
            for s in PROJECT_STAGES]
