"""Behaviour follows data: the scope threshold in the DMN table and an item's promised limit
in the catalog change what a case does, with no code change."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.engine.clock import FrozenClock
from server.rules import catalog as catalog_rules
from tests.scenarios.conftest import ROOT, Walker

CST = ZoneInfo("Asia/Shanghai")


def copy_processes(tmp_path: Path) -> Path:
    target = tmp_path / "processes"
    shutil.copytree(ROOT / "processes", target)
    return target


def test_raising_the_scope_threshold_in_the_decision_table_rejects_smaller_projects(
        make_app: Any, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    shipped = Walker(make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                              GUANJIA_FORMS_DIR=str(ROOT / "forms")), frozen_clock)
    shipped.start(investment_wan=8000)
    assert shipped.ready_ids() == ["review_application"]

    processes = copy_processes(tmp_path)
    dmn = processes / "service_scope.dmn"
    text = dmn.read_text(encoding="utf-8")
    # A county with a 1亿元 threshold edits two cells (and the reason shown to the enterprise).
    assert text.count("&lt; 5000") == 1 and text.count("&gt;= 5000") == 1
    dmn.write_text(text.replace("&lt; 5000", "&lt; 10000").replace("&gt;= 5000", "&gt;= 10000")
                   .replace("低于5000万元", "低于1亿元"), encoding="utf-8")
    county = Walker(make_app(GUANJIA_PROCESSES_DIR=str(processes),
                             GUANJIA_FORMS_DIR=str(ROOT / "forms")), frozen_clock)
    county.start(investment_wan=8000)
    assert county.ready_ids() == ["notify_rejection"]
    scope = county.data()["scope"]
    assert scope["in_scope"] is False and scope["reason"].startswith("投资规模低于1亿元")
    county.start(investment_wan=12000)
    assert county.ready_ids() == ["review_application"]


def _due_of_project_filing(walker: Walker) -> datetime:
    walker.start(item_codes=["project_filing"])
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet")
    walker.do("fgj", "review_item_materials")
    [handling] = walker.ready("handle_item")
    due: datetime = handling["due_at"]
    return due


def _edited_catalog(tmp_path: Path, code: str, *, check: bool = True, **changes: str) -> Path:
    """A county's copy of the shipped catalog with some cells of one item changed."""
    text = (ROOT / "server" / "data" / "catalog.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["code"] == code for r in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, **changes} if row["code"] == code else row)
    path = tmp_path / f"catalog-{code}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    if check:
        catalog_rules.parse_catalog(out.getvalue())  # the edit is valid data
    return path


def test_an_items_promised_limit_comes_from_the_catalog(
        make_app: Any, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    env = {"GUANJIA_PROCESSES_DIR": str(ROOT / "processes"),
           "GUANJIA_FORMS_DIR": str(ROOT / "forms")}
    # Shipped: 3 working days, so due Thursday 17:30 when taken on Monday (see
    # test_supervision.py, which walks that item on the shipped catalog).
    assert catalog_rules.Catalog.default().get("project_filing").promised_days == 3
    assert _due_of_project_filing(Walker(make_app(**env), frozen_clock)) == datetime(
        2026, 11, 26, 17, 30, tzinfo=CST)

    # The county promises 备案 in one working day: an edit of the catalog data only.
    county = _edited_catalog(tmp_path, "project_filing", promised_days="1")
    walker = Walker(make_app(**env, GUANJIA_CATALOG_FILE=str(county)), frozen_clock)
    assert _due_of_project_filing(walker) == datetime(
        2026, 11, 24, 17, 30, tzinfo=CST)  # Monday + 1 working day
    item = walker.data()["items"][0]
    assert (item["promised_days"], item["level"], item["limit_kind"]) == (1, "county", "working")


def test_a_prerequisite_and_a_level_come_from_the_catalog(
        make_app: Any, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    env = {"GUANJIA_PROCESSES_DIR": str(ROOT / "processes"),
           "GUANJIA_FORMS_DIR": str(ROOT / "forms")}
    codes = ["project_filing", "temporary_land_use"]
    shipped = Walker(make_app(**env), frozen_clock)
    shipped.start(item_codes=codes)
    shipped.accept()
    shipped.hand_over()
    # Shipped: 临时用地 has no prerequisite, so both sheets go out at once.
    assert sorted(s["item_code"] for s in shipped.ready("take_task_sheet")) == sorted(codes)

    # The county makes 临时用地 wait for 备案 and says the prefecture decides it.
    county_file = _edited_catalog(tmp_path, "temporary_land_use",
                                  prerequisites="project_filing", level="prefecture")
    county = Walker(make_app(**env, GUANJIA_CATALOG_FILE=str(county_file)), frozen_clock)
    county.start(item_codes=codes)
    county.accept()
    county.hand_over()
    assert [s["item_code"] for s in county.ready("take_task_sheet")] == ["project_filing"]
    land = next(i for i in county.data()["items"] if i["code"] == "temporary_land_use")
    assert (land["level"], land["waiting_for"]) == ("prefecture", ["project_filing"])
    assert county.work_open_items() == ["project_filing"]
    assert county.work_open_items() == ["temporary_land_use"]


def test_an_invalid_county_catalog_stops_the_start_with_located_errors(
        make_app: Any, tmp_path: Path) -> None:
    bad = _edited_catalog(tmp_path, "project_filing", check=False,
                          prerequisites="energy_review")
    with pytest.raises(catalog_rules.CatalogError) as err:
        make_app(GUANJIA_CATALOG_FILE=str(bad))
    assert "prerequisite cycle: " in str(err.value)
    assert "project_filing" in str(err.value) and "energy_review" in str(err.value)
