"""A prefecture of two counties with known figures, for the roll-up tests (issue 21).

大姚 (the default county) holds the dashboard's known county (``tests.helpers.dashboard``:
its cases name no county, as before tenancy), one case rated 差 and one complaint, upheld;
姚安 holds two cases of its own — one red and one green item open, one item finished late —
one case rated 差 (twice: a case counts once) and two complaints, one upheld.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import insert, select

from server.extensions import db
from server.models import Case, Complaint, WorkItem
from tests.helpers.dashboard import at, county
from tests.helpers.tenancy import A, B, make_counties, move_cases
from tests.web.dashboard_seed import SeedCase, SeedItem, seed_cases


@dataclass(frozen=True)
class Prefecture:
    dayao: list[str]  # case ids
    yaoan: list[str]


def _rated_bad(case_id: str) -> None:
    """The process's 差评 step (call_back_and_rectify) opened for ``case_id``."""
    db.session.execute(insert(WorkItem).values(
        id=str(uuid.uuid4()), case_id=case_id, element_id="call_back_and_rectify",
        name="回访整改", candidate_groups="window", state="completed", stage="evaluation",
        created_at=at(11, 20), completed_at=at(11, 20, 3), context="{}",
        county=select(Case.county).where(Case.id == case_id).scalar_subquery()))


def _complaint(county_code: str | None, result: str | None) -> None:
    db.session.execute(insert(Complaint).values(
        county=county_code, channel="phone", complainant_name="张三", subject="department",
        department="dept_zjj", content="办理拖延", filed_by="ducha", filed_at=at(11, 10),
        handling_days=10, due_at=at(11, 24), status="closed" if result else "received",
        result=result, decided_at=at(11, 20) if result else None))


def prefecture(app: Flask) -> Prefecture:
    """Both counties seeded (see the module docstring); the frozen clock stands at Mon
    2026-11-23 09:00 local."""
    make_counties(app)
    dayao = county(app)
    yaoan = seed_cases(app, [
        SeedCase("姚安花卉产业园", "姚安花卉有限公司", "agriculture", at(11, 9),
                 reference="GJ-2026-0201", items=[
                     SeedItem("construction_permit", "dept_zjj", at(11, 16)),
                     SeedItem("land_pre_review", "dept_zrzy", at(12, 28)),
                     SeedItem("project_filing", "dept_fgj", at(11, 12), state="completed",
                              completed_at=at(11, 13))]),
        SeedCase("姚安光伏电站", "姚安新能源有限公司", "energy", at(10, 8),
                 reference="GJ-2026-0202")])
    with app.app_context():
        move_cases(yaoan, B)
        _rated_bad(dayao[1])
        _rated_bad(yaoan[0])
        _rated_bad(yaoan[0])
        _complaint(None, "upheld")  # before tenancy: the default county's
        _complaint(B, "partly_upheld")
        _complaint(B, None)
        db.session.commit()
        db.session.remove()
    return Prefecture(dayao, yaoan)


__all__ = ["A", "B", "Prefecture", "prefecture"]
