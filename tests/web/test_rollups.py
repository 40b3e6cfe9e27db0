"""The prefecture's roll-up (issue 21): each county's row is what the county's own leader
sees, a prefecture leader drills into one county, and a county's users never see the
comparison (on both databases)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import User
from server.services import complaints, dashboard, rollups
from server.services.errors import NotFoundError, PermissionDeniedError
from tests.helpers.rollups import A, B, prefecture
from tests.web.dashboard_seed import shipped_app

COUNT = re.compile(r'data-count="([^"]+)"[^>]*>(?:<i></i>[^<]*<b>)?(\d+)')


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def numbers(page: str) -> dict[str, int]:
    """Every number the page links (data-count → the number shown)."""
    return {key: int(n) for key, n in COUNT.findall(page)}


def test_each_countys_row_is_what_its_own_leader_sees(
        app: Flask, frozen_clock: FrozenClock) -> None:
    prefecture(app)
    with app.app_context():
        board = rollups.rollup(user("zhou"))
        rows = {row.code: row for row in board.counties}
        assert list(rows) == [A, B]
        for code, leader, office in ((A, "lingdao", "ducha"), (B, "b_lingdao", "b_ducha")):
            own = dashboard.overview(user(leader))
            row = rows[code]
            assert own == dashboard.overview(user("zhou"), county=code)
            assert (row.items, row.items_total) == (own.items_by_light, own.items_total)
            assert (row.projects, row.running) == (own.projects_by_light, own.projects_total)
            assert row.month_new == own.month["new"]
            assert (row.finished, row.on_time) == (sum(r.finished for r in own.rates),
                                                   sum(r.on_time for r in own.rates))
            assert row.complaints == len(complaints.visible_complaints(user(office)))
        # The figures themselves, as a leader would read them.
        assert (rows[A].items_total, rows[A].items["red"], rows[A].projects["red"]) == (4, 2, 2)
        assert (rows[B].items, rows[B].running) == ({"red": 1, "yellow": 0, "green": 1}, 2)
        assert (rows[B].finished, rows[B].on_time, rows[B].rate) == (1, 0, 0.0)
        assert (rows[A].bad_ratings, rows[B].bad_ratings) == (1, 1)
        assert (rows[A].complaints, rows[A].complaints_upheld) == (1, 1)
        assert (rows[B].complaints, rows[B].complaints_upheld) == (2, 1)
        # The pooled dashboard is the prefecture's, as before the roll-up.
        assert board.overview == dashboard.overview(user("zhou"))
        assert board.overview.items_total == rows[A].items_total + rows[B].items_total


def test_a_countys_users_never_see_the_comparison(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    prefecture(app)
    with app.app_context():
        with pytest.raises(PermissionDeniedError):
            rollups.rollup(user("lingdao"))
        with pytest.raises(NotFoundError):
            dashboard.overview(user("lingdao"), county=B)
    leader = web()
    leader.login("lingdao")
    page = leader.text("/dashboard")
    assert 'id="county-table"' not in page and "姚安县" not in page
    assert numbers(page)["items-total"] == 4
    assert numbers(leader.text("/dashboard", query_string={"county": A}))["items-total"] == 4
    for path in ("/dashboard", "/dashboard/items", "/cases"):
        assert leader.get(path, query_string={"county": B}).status_code == 404
        assert leader.get(path, query_string={"county": "nowhere"}).status_code == 404


def test_the_prefecture_compares_and_drills_into_a_county(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    prefecture(app)
    zhou, theirs = web(), web()
    zhou.login("zhou")
    theirs.login("b_lingdao")
    page = zhou.text("/dashboard")
    found = numbers(page)
    assert 'id="county-table"' in page and "姚安县" in page and "大姚县" in page
    assert (found[f"county-{A}-items"], found[f"county-{A}-red"]) == (4, 2)
    assert (found[f"county-{B}-items"], found[f"county-{B}-red"]) == (2, 1)
    assert found["items-total"] == 6
    # The county's own dashboard, as the prefecture opens it from the table, shows the
    # numbers its own leader sees.
    drilled = zhou.text("/dashboard", query_string={"county": B})
    assert 'id="county-table"' not in drilled
    assert numbers(drilled) == numbers(theirs.text("/dashboard"))
    # Each number opens the list it counts.
    red = zhou.text("/dashboard/items", query_string={"county": B, "light": "red"})
    assert re.search(r'<b id="total">1</b>', red) and "姚安花卉产业园" in red
    listed = zhou.text("/cases", query_string={"county": B, "status": "running"})
    assert re.search(r'<b id="total">2</b>', listed) and "风电基地项目" not in listed
