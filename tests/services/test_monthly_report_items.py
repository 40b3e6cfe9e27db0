"""The monthly 重点招商项目情况表 counts approval items (done, in hand, late by the month's end),
names industries in words, dates the application as 申请日期 and says 不予受理."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask

from server.extensions import db
from server.services import reports
from tests.helpers.dashboard import at, county
from tests.web.dashboard_seed import SeedCase, shipped_app
from tests.web.dashboard_seed import seed_cases as seed


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def test_the_november_table_counts_items_not_tasks(app: Flask) -> None:
    county(app)
    seed(app, [SeedCase("被拒项目", "不合规有限公司", "other", at(11, 4), status="rejected",
                        ended_at=at(11, 4, 5))])
    with app.app_context():
        csv_path, _ = reports.write_monthly_report(2026, 11)
        db.session.remove()
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == reports.COLUMNS
    table = {r[2]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    # Open at some moment of November, oldest application first; 旧厂 ended in October.
    assert [r[2] for r in rows[1:]] == ["文旅小镇项目", "康养中心项目", "风电基地项目",
                                        "农业园项目", "被拒项目", "物流园项目"]
    wind = table["风电基地项目"]
    assert wind["行业"] == "能源（含绿色能源）" and wind["申请日期"] == "2026-11-02"
    # Both items in hand at the month's end, both past their due moment.
    assert [wind[k] for k in ("审批事项", "已办结事项", "在办事项", "超期事项")] \
        == ["2", "0", "2", "2"]
    town = table["文旅小镇项目"]
    # Done: 方案审查 on time (30 Oct), 规划核实 late (3 Nov, due 1 Nov); in hand: 施工许可
    # (due 20 Dec) and 消防设计审查 (due 20 Nov, late).
    assert [town[k] for k in ("审批事项", "已办结事项", "在办事项", "超期事项")] \
        == ["4", "2", "2", "2"]
    assert town["行业"] == "文化旅游" and town["状态"] == "推进中"
    assert table["被拒项目"]["状态"] == "不予受理"
    farm = table["农业园项目"]
    assert farm["状态"] == "已终止" and farm["办结日期"] == "2026-11-12"
    assert table["康养中心项目"]["状态"] == "已办结"
    assert table["物流园项目"]["审批事项"] == "0"
