"""Two counties side by side for the isolation tests (issue 21): 大姚县 (the default) and
姚安县, users of each and of the prefecture, and one real case in each county, run to the
departments' handling step through the API.

The seeded test users become 大姚 users; 姚安 has its own bureau, leader, window, steward,
departments and enterprise user (the seeded ``qiye_b`` of 企业乙); ``zhou`` (a 州 leader),
``zhou_fgj`` (the 州 发改委) and ``zhou_admin`` (a 州 administrator) belong to the
prefecture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from tests.conftest import PASSWORD, Api

A, B = "dayao", "yaoan"
#: 姚安's own people: username → groups.
B_USERS = {"b_zhaoshang": ["bureau"], "b_lingdao": ["leader"], "b_window": ["window"],
           "b_fgj": ["dept_fgj"], "b_zrzy": ["dept_zrzy"], "b_admin": ["admin"],
           "b_shenji": ["auditor"], "b_ducha": ["supervision"], "b_guanjia": ["steward"]}
#: 姚安县's towns and townships (its county setting).
YAOAN_TOWNS = "栋川镇、光禄镇、前场镇、弥兴镇、太平镇、官屯镇、大河口乡、适中乡、左门乡"
#: The prefecture's: every county.
PREFECTURE_USERS = {"zhou": ["leader"], "zhou_fgj": ["dept_fgj"], "zhou_admin": ["admin"]}
ITEMS = [
    {"code": "project_filing", "name": "企业投资项目备案", "department": "dept_fgj",
     "promised_days": 3},
    {"code": "land_planning", "name": "建设用地规划许可证", "department": "dept_zrzy",
     "promised_days": 5},
]


@dataclass
class CountyCase:
    """One county's case and its open department tasks (by department group)."""

    county: str
    id: str
    reference: str
    title: str
    tasks: dict[str, str]  # group → open handle_item task id


@dataclass
class TwoCounties:
    a: CountyCase
    b: CountyCase


def make_counties(app: Flask) -> None:
    """大姚 (default) and 姚安; the seeded users move to 大姚, 姚安's and the prefecture's
    users are added."""
    from sqlalchemy import update

    from server.extensions import db
    from server.models import County, User
    from server.services.calendar import forget_calendars
    from server.services.counties import DAYAO, ensure_demo_county
    from server.services.users import ensure_enterprise, ensure_user

    with app.app_context():
        ensure_demo_county(default=True)
        db.session.add(County(**{**DAYAO, "code": B, "name": "姚安县", "towns": YAOAN_TOWNS},
                              revision=1,
                              updated_by="test"))
        db.session.flush()
        db.session.execute(update(User).values(county=A))
        db.session.execute(update(User).where(User.username == "qiye_b").values(county=B))
        for username, groups in B_USERS.items():
            ensure_user(username, f"姚安 {username}", PASSWORD, groups, county=B)
        for username, groups in PREFECTURE_USERS.items():
            ensure_user(username, f"楚雄州 {username}", PASSWORD, groups, county=None)
        ensure_enterprise("企业乙")
        db.session.commit()
        forget_calendars()
        db.session.remove()


def move_cases(case_ids: list[str], county: str | None) -> None:
    """Seeded cases filed in ``county`` after all (in an app context; not committed): the
    cases and their work items, whose county is always their case's (0028_work_item_county),
    move together."""
    from sqlalchemy import select, update

    from server.extensions import db
    from server.models import Case, WorkItem, WorkItemGroup

    items = select(WorkItem.id).where(WorkItem.case_id.in_(case_ids))
    db.session.execute(update(Case).where(Case.id.in_(case_ids)).values(county=county))
    db.session.execute(update(WorkItem).where(WorkItem.case_id.in_(case_ids))
                       .values(county=county))
    db.session.execute(update(WorkItemGroup).where(WorkItemGroup.work_item_id.in_(items))
                       .values(county=county))


def _only(api: Api, user: str, element_id: str, case_id: str) -> dict[str, Any]:
    found = [t for t in api.tasks(user) if t["element_id"] == element_id
             and t["case_id"] == case_id]
    assert len(found) == 1, (user, element_id, found)
    return found[0]


def run_case(api: Api, *, enterprise: str, bureau: str, fgj: str, zrzy: str,
             title: str) -> CountyCase:
    """A case filed by ``enterprise``, accepted by ``bureau`` and taken by both departments:
    their ``handle_item`` tasks are open."""
    response = api.post("/cases", enterprise, json={"process_id": "parallel_case", "data": {
        "project_name": title, "investment_wan": 120000, "items": ITEMS}})
    assert response.status_code == 201, response.json
    case = response.json
    review = _only(api, bureau, "review", case["id"])
    assert api.post(f"/tasks/{review['id']}/complete", bureau,
                    json={"data": {"approved": True}}).status_code == 200
    tasks = {}
    for group, user in (("dept_fgj", fgj), ("dept_zrzy", zrzy)):
        sheet = _only(api, user, "take_sheet", case["id"])
        done = api.post(f"/tasks/{sheet['id']}/complete", user, json={"data": {"receiver": user}})
        assert done.status_code == 200, done.json
        tasks[group] = _only(api, user, "handle_item", case["id"])["id"]
    with api.app.app_context():
        from server.extensions import db
        from server.models import Case

        row = db.session.get(Case, case["id"])
        assert row is not None
        county = row.county or ""
        db.session.remove()
    return CountyCase(county, case["id"], case["reference"], title, tasks)


def two_counties(app: Flask, api: Api) -> TwoCounties:
    """Both counties with one running case each (see the module docstring)."""
    make_counties(app)
    a = run_case(api, enterprise="qiye", bureau="zhaoshang", fgj="fgj", zrzy="zrzy",
                 title="大姚储能电池基地")
    b = run_case(api, enterprise="qiye_b", bureau="b_zhaoshang", fgj="b_fgj", zrzy="b_zrzy",
                 title="姚安文旅小镇")
    assert (a.county, b.county) == (A, B)
    return TwoCounties(a, b)
