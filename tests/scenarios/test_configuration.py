"""Behaviour follows data: the scope threshold in the DMN table and an item's promised limit
in the catalog change what a case does, with no code change."""

from __future__ import annotations

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


def test_an_items_promised_limit_comes_from_the_catalog(
        make_app: Any, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"GUANJIA_PROCESSES_DIR": str(ROOT / "processes"),
           "GUANJIA_FORMS_DIR": str(ROOT / "forms")}
    # Shipped: 3 working days, so due Thursday 17:30 when taken on Monday (see
    # test_supervision.py, which walks that item on the shipped catalog).
    assert catalog_rules.Catalog.default().get("project_filing").promised_days == 3

    # The county promises 备案 in one working day: an edit of the catalog data only.
    text = (ROOT / "server" / "data" / "catalog.csv").read_text(encoding="utf-8")
    line = next(row for row in text.splitlines() if row.startswith("project_filing,"))
    assert line.endswith(",,3")
    edited = catalog_rules.parse_catalog(text.replace(line, line[:-1] + "1"))
    # The app reads the bundled catalog file; there is no setting naming another file yet,
    # so the edited data is put where the bundled data is read from.
    monkeypatch.setattr(catalog_rules, "_default_catalog", lambda: edited)
    assert _due_of_project_filing(Walker(make_app(**env), frozen_clock)) == datetime(
        2026, 11, 24, 17, 30, tzinfo=CST)  # Monday + 1 working day
