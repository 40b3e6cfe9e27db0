"""The whole project: 项目代码 shape, targets as data, the project clock, the stage bar."""

from __future__ import annotations

from datetime import date

import pytest

from server.rules.catalog import CatalogError
from server.rules.project import (
    default_targets,
    parse_targets,
    project_clock,
    project_code_problems,
    stage_bar,
    target_for,
)


def test_a_well_formed_project_code_passes() -> None:
    assert project_code_problems("2026-532326-04-01-123456", this_year=2026) == []


@pytest.mark.parametrize(("code", "expected"), [
    ("2026-532326-04-01-12345", "项目代码应为24位"),
    ("2026532326-04-01-1234567", "项目代码应为24位"),
    ("2026-53232A-04-01-123456", "第2组（地区代码）应为6位数字，实为 '53232A'"),
    ("2026-532326-4X-01-123456", "第3组（中央业务指导部门代码）应为2位数字"),
    ("1999-532326-04-01-123456", "第1组（年份代码）1999 不是赋码年份"),
    ("2026-992326-04-01-123456", "第2组（地区代码）992326 不是行政区划代码"),
])
def test_a_malformed_project_code_is_reported_group_by_group(code: str, expected: str) -> None:
    problems = project_code_problems(code, this_year=2026)
    assert problems and problems[0].startswith(expected)


def test_seed_003_targets_are_data_with_a_county_column() -> None:
    targets = default_targets()
    assert target_for(targets, "building", "private").target_days == 160  # type: ignore[union-attr]
    assert target_for(targets, "building", "foreign").target_days == 160  # type: ignore[union-attr]
    assert target_for(targets, "building", "state_owned").target_days == 210  # type: ignore[union-attr]
    assert target_for(targets, "simple_low_risk", "private").target_days == 60  # type: ignore[union-attr]
    assert target_for(targets, "other", "private") is None
    county = parse_targets("county,project_type,ownership,target_days,day_kind,warn_days,basis\n"
                           ",building,private,160,calendar,20,默认\n"
                           "dayao,building,private,120,calendar,15,大姚县\n")
    assert target_for(county, "building", "private", "dayao").target_days == 120  # type: ignore[union-attr]
    assert target_for(county, "building", "private", "other").target_days == 160  # type: ignore[union-attr]
    with pytest.raises(CatalogError, match="line 2: unknown ownership 'public'"):
        parse_targets("county,project_type,ownership,target_days,day_kind,warn_days,basis\n"
                      ",building,public,160,calendar,20,x\n")


def test_the_project_clock_counts_calendar_days_from_the_land_contract() -> None:
    target = target_for(default_targets(), "building", "private")
    assert target is not None
    start = date(2026, 10, 24)
    running = project_clock(target, start, date(2026, 11, 23))
    assert (running.used_days, running.left_days, running.light) == (30, 130, "green")
    assert running.due == date(2027, 4, 2)
    assert project_clock(target, start, date(2027, 3, 20)).light == "yellow"  # 13 days left
    late = project_clock(target, start, date(2027, 4, 5))
    assert (late.left_days, late.light) == (-3, "red")
    stopped = project_clock(target, start, date(2027, 6, 1), finished=date(2027, 3, 1))
    assert stopped.stopped and stopped.used_days == 128 and stopped.light == "green"


def test_the_stage_bar_moves_as_items_finish() -> None:
    items = [{"code": "a", "stage": "立项用地规划许可"}, {"code": "b", "stage": "立项用地规划许可"},
             {"code": "c", "stage": "施工许可"}]
    assert [s.state for s in stage_bar(items, set())] == ["todo", "none", "todo", "none"]
    assert [s.state for s in stage_bar(items, {"a"})] == ["active", "none", "todo", "none"]
    assert [(s.stage, s.done, s.total, s.state) for s in stage_bar(items, {"a", "b", "c"})] == [
        ("立项用地规划许可", 2, 2, "done"), ("工程建设许可", 0, 0, "none"),
        ("施工许可", 1, 1, "done"), ("竣工验收", 0, 0, "none")]
