"""Policies per county (issue 21): 大姚's bureau writes a policy for 金碧镇's new-energy projects;
it reaches 大姚's matching case only, though 姚安 has one alike; 姚安's bureau neither lists nor
opens nor publishes it (404, nothing changes); the prefecture's bureau sees both counties'.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models.policies import PolicyDelivery
from server.services.users import ensure_user
from tests.conftest import PASSWORD, table_counts
from tests.helpers.policies import POLICY, policy_case
from tests.helpers.tenancy import A, B, make_counties
from tests.web.helpers import Web


def test_a_countys_policy_stays_in_its_county(app: Flask) -> None:
    make_counties(app)
    with app.app_context():
        ensure_user("zhou_zhaoshang", "楚雄州 投资促进局", PASSWORD, ["bureau"], county=None)
        db.session.commit()
        db.session.remove()
    ours = policy_case(app, enterprise="企业甲", title="光伏组件厂", industry="energy",
                       area="金碧镇", investment=80000, steward="guanjia", county=A)
    theirs = policy_case(app, enterprise="企业乙", title="姚安光伏厂", industry="energy",
                         area="金碧镇", investment=80000, steward="b_guanjia", county=B)
    bureau = Web(app)
    bureau.login("zhaoshang")  # 大姚's
    created = bureau.post("/policies", POLICY, token_from="/policies")
    assert created.status_code == 302, created.get_data(as_text=True)[:500]
    found = re.search(r"/policies/(\d+)", created.headers["Location"])
    assert found is not None
    page = f"/policies/{found.group(1)}"

    other = Web(app)
    other.login("b_zhaoshang")  # 姚安's
    assert POLICY["title"] not in other.text("/policies")
    before = table_counts(app)
    assert other.get(page).status_code == 404
    assert other.post(f"{page}/publish", token_from="/policies").status_code == 404
    assert table_counts(app) == before

    assert bureau.post(f"{page}/publish", token_from=page).status_code == 302
    with app.app_context():
        reached = {d.case_id for d in db.session.execute(select(PolicyDelivery)).scalars()}
    assert ours in reached and theirs not in reached

    prefecture = Web(app)
    prefecture.login("zhou_zhaoshang")
    assert POLICY["title"] in prefecture.text("/policies")
    assert prefecture.get(page).status_code == 200


def test_each_county_offers_its_own_towns(app: Flask) -> None:
    """The towns a policy may name are the county's setting (counties.towns): 姚安's bureau is
    offered 栋川镇, not 大姚's 石羊镇, and a policy naming 石羊镇 is refused there."""
    make_counties(app)
    theirs = Web(app)
    theirs.login("b_zhaoshang")
    page = theirs.text("/policies")
    assert "栋川镇" in page and "石羊镇" not in page
    before = table_counts(app)
    refused = theirs.post("/policies", {**POLICY, "areas": ["石羊镇"]}, token_from="/policies")
    assert refused.status_code == 422 and "未知乡镇：石羊镇" in refused.get_data(as_text=True)
    assert table_counts(app) == before
    ours = Web(app)
    ours.login("zhaoshang")
    page = ours.text("/policies")
    assert "石羊镇" in page and "栋川镇" not in page
