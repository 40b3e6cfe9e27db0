"""The prefecture's monthly report compares the counties (issue 21): each county's row is
its own monthly report's figures; print, PDF page and .xlsx carry it; a county's users
neither see nor open it, and their own reports are as before (on both databases)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import Report, User
from server.services import report_books, report_exports
from server.services.errors import NotFoundError
from server.services.report_figures import PREFECTURE, SUMMARY_FIELDS
from server.services.users import ensure_user
from tests.conftest import PASSWORD
from tests.helpers.rollups import A, B, prefecture
from tests.web.dashboard_seed import shipped_app


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def november(app: Flask) -> dict[str, int]:
    """The reports the 1st of December prepares: county → report id."""
    with app.app_context():
        made = report_books.prepare_due(date(2026, 12, 1))
        found = {r.county: r.id for r in made if r.kind == "monthly"}
        db.session.remove()
    return found


def test_the_prefectures_monthly_report_compares_the_counties(
        app: Flask, frozen_clock: FrozenClock) -> None:
    prefecture(app)
    ids = november(app)
    assert set(ids) == {PREFECTURE, A, B}
    with app.app_context():
        ours = db.session.get(Report, ids[PREFECTURE])
        assert ours is not None
        rows = {row["county"]: row for row in ours.figures["counties"]}
        assert list(rows) == [A, B]
        # Each county's row is its own monthly report's figures.
        for code in (A, B):
            own = db.session.get(Report, ids[code])
            assert own is not None and "counties" not in own.figures
            assert {k: rows[code][k] for k in SUMMARY_FIELDS} == {
                k: own.figures["summary"][k] for k in SUMMARY_FIELDS}
        assert (rows[B]["items_done"], rows[B]["items_on_time"], rows[B]["on_time_rate"]) == (
            1, 0, 0.0)
        assert (rows[A]["bad_ratings"], rows[B]["bad_ratings"]) == (1, 1)
        assert (rows[A]["complaints"], rows[A]["complaints_upheld"]) == (1, 1)
        assert (rows[B]["complaints"], rows[B]["complaints_upheld"]) == (2, 1)
        # The comparison is the report's first document; a county's report has none.
        first = report_exports.tables(ours, groups={}, people={})[0]
        assert first.name == "各县对比"
        assert [r[0] for r in first.rows] == ["大姚县", "姚安县"]
        own_tables = report_exports.tables(db.session.get(Report, ids[A]), groups={},
                                           people={})
        assert [t.name for t in own_tables] == ["情况表", "跟踪反馈单", "服务清单"]
        # The prefecture's clerk prepares the prefecture's report by hand.
        ensure_user("zhou_zhaoshang", "楚雄州 招商", PASSWORD, ["bureau"], county=None)
        db.session.commit()
        by_hand = report_books.prepare_by(user("zhou_zhaoshang"), "monthly", "2026-10")
        assert by_hand.county == PREFECTURE and "counties" in by_hand.figures


def test_a_countys_users_never_see_the_prefectures_report(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    prefecture(app)
    ids = november(app)
    with app.app_context():
        for name in ("lingdao", "zhaoshang", "b_lingdao", "b_zhaoshang"):
            assert PREFECTURE not in {r.county for r in report_books.listing(user(name))}
            with pytest.raises(NotFoundError):
                report_books.get(user(name), ids[PREFECTURE])
    leader, zhou = web(), web()
    leader.login("lingdao")
    zhou.login("zhou")
    mine = ids[PREFECTURE]
    for path in (f"/reports/{mine}", f"/reports/{mine}/print", f"/reports/{mine}/xlsx"):
        assert leader.get(path).status_code == 404
    assert "各县（市）对比" not in leader.text(f"/reports/{ids[A]}")
    # The prefecture reads, prints and downloads it with the comparison.
    assert "全州" in zhou.text("/reports")
    assert "各县（市）对比" in zhou.text(f"/reports/{mine}")
    page = zhou.text(f"/reports/{mine}/print")
    assert "各县（市）对比" in page and "姚安县" in page and "楚雄彝族自治州投资促进局" in page
    sheet = openpyxl.load_workbook(io.BytesIO(zhou.get(f"/reports/{mine}/xlsx").data))
    assert "各县对比" in sheet.sheetnames
    cells = [[c.value for c in row] for row in sheet["各县对比"].iter_rows()]
    assert ["姚安县", 1, 0, 0, 1, 0, 1, 0, 1, 2, 1] in [row[:11] for row in cells], cells
