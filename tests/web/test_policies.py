"""Policy push (政策信息定向推送, seed 000 §二(五)): exactly the matching enterprises and lead
stewards are reached, read receipts are kept, the bureau sees who has not read it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import table_counts
from tests.helpers.policies import POLICY, policy_case
from tests.web.helpers import Web


def _county(app: Flask) -> dict[str, str]:
    return {
        "match": policy_case(app, enterprise="企业甲", title="光伏组件厂", industry="energy",
                       area="金碧镇", investment=80000, steward="guanjia"),
        "wrong_industry": policy_case(app, enterprise="企业乙", title="机械加工厂",
                                industry="manufacturing", area="金碧镇", investment=50000,
                                steward="guanjia2"),
        "wrong_area": policy_case(app, enterprise="企业乙", title="石羊风电场", industry="energy",
                            area="石羊镇", investment=90000, steward="guanjia2"),
        "too_small": policy_case(app, enterprise="企业乙", title="屋顶光伏", industry="energy",
                           area="金碧镇", investment=500, steward="guanjia2"),
    }


def _notices(app: Flask) -> dict[str, list[str]]:
    from server.extensions import db
    from server.models import User
    from tests.helpers.notices import inbox_of

    with app.app_context():
        out = {name: titles for name in db.session.execute(select(User.username)).scalars()
               if (titles := [n.title for n in inbox_of(name) if n.kind == "policy"])}
        db.session.remove()
    return out


def _create(w: Web, data: dict[str, Any]) -> Any:
    return w.post("/policies", data, token_from="/policies")


def test_a_new_energy_policy_for_jinbi_reaches_exactly_the_matching_enterprise_and_steward(
        app: Flask, web: Any) -> None:
    _county(app)
    bureau: Web = web()
    bureau.login("zhaoshang")
    made = _create(bureau, POLICY)
    assert made.status_code == 302, made.get_data(as_text=True)[:800]
    page = made.headers["Location"]
    policy_id = int(page.rsplit("/", 1)[-1])
    draft = bureau.text(page)
    assert "草稿" in draft and "能源（含新能源、绿色能源）" in draft and "金碧镇" in draft
    assert _notices(app) == {}

    published = bureau.post(f"/policies/{policy_id}/publish", token_from=page)
    assert published.status_code == 302
    # 企业甲's 光伏组件厂 matches industry, town and investment; 企业乙's three cases each miss
    # one of them, so neither 企业乙 nor its steward 管家乙 hears of the policy.
    assert _notices(app) == {"qiye": ["政策推送：新能源产业扶持政策（2026）"],
                             "guanjia": ["政策推送：新能源产业扶持政策（2026）"]}
    receipts = bureau.text(page)
    assert "企业甲" in receipts and "管家" in receipts and "企业乙" not in receipts
    assert "管家乙" not in receipts and "0 / 2" in receipts

    enterprise: Web = web()
    enterprise.login("qiye")
    inbox = enterprise.text("/inbox")
    assert "政策推送：新能源产业扶持政策（2026）" in inbox and "为您推荐的政策" in inbox
    mine = enterprise.text("/policies/for-me")
    assert "为您推荐的政策" in mine and "新能源产业扶持政策（2026）" in mine and "未读" in mine
    assert "第一条" in enterprise.text(page)
    read = enterprise.post(f"/policies/{policy_id}/read", token_from=page)
    assert read.status_code == 302
    assert "已阅" in enterprise.text(page)
    assert "已读" in enterprise.text("/policies/for-me")

    other: Web = web()
    other.login("qiye_b")
    assert "新能源产业扶持政策" not in other.text("/policies/for-me")
    before = table_counts(app)
    assert other.get(page).status_code == 403
    assert other.post(f"/policies/{policy_id}/read", token_from="/policies/for-me"
                      ).status_code == 403
    assert table_counts(app) == before

    steward: Web = web()
    steward.login("guanjia")
    assert "新能源产业扶持政策（2026）" in steward.text("/policies/for-me")

    after = bureau.text(page)
    unread = after.split('id="unread"', 1)[1].split("</ul>", 1)[0]
    assert "管家" in unread and "企业甲" not in unread
    assert "1 / 2" in after and "企业甲经办人" in after  # read by whom

    from server.extensions import db
    from server.models import AuditEvent

    with app.app_context():
        kinds = list(db.session.execute(
            select(AuditEvent.type).where(AuditEvent.type.like("policy_%"))
            .order_by(AuditEvent.seq)).scalars())
        db.session.remove()
    assert kinds == ["policy_created", "policy_published", "policy_read"]


def test_an_unknown_industry_or_area_is_refused_and_nothing_changes(app: Flask,
                                                                    web: Any) -> None:
    from server.extensions import db
    from server.services.counties import ensure_demo_county

    with app.app_context():  # 大姚县 and its towns (金碧镇 …), as `guanjia run` sets it up
        ensure_demo_county(default=True)
        db.session.commit()
        db.session.remove()
    bureau: Web = web()
    bureau.login("zhaoshang")
    before = table_counts(app)
    bad = _create(bureau, {**POLICY, "industries": ["rocketry"]})
    assert bad.status_code == 422
    assert "未知行业：rocketry" in bad.get_data(as_text=True)
    bad = _create(bureau, {**POLICY, "areas": ["金碧镇"], "areas_more": "火星镇"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "未知乡镇：火星镇" in text and 'value="新能源产业扶持政策（2026）"' in text
    bad = _create(bureau, {**POLICY, "min_investment_wan": "很多",
                           "valid_until": "2025-01-01"})
    assert bad.status_code == 422
    assert "请输入数字" in bad.get_data(as_text=True)
    assert table_counts(app) == before


def test_only_the_bureau_records_and_publishes_a_policy(app: Flask, web: Any) -> None:
    _county(app)
    for username in ("qiye", "guanjia", "fgj"):
        w: Web = web()
        w.login(username)
        before = table_counts(app)
        assert w.post("/policies", POLICY, token_from="/tasks" if username != "qiye"
                      else "/portal").status_code == 403
        assert w.get("/policies").status_code == 403
        assert table_counts(app) == before
    bureau: Web = web()
    bureau.login("zhaoshang")
    page = _create(bureau, POLICY).headers["Location"]
    policy_id = int(page.rsplit("/", 1)[-1])
    steward: Web = web()
    steward.login("guanjia")
    before = table_counts(app)
    assert steward.post(f"/policies/{policy_id}/publish",
                        token_from="/tasks").status_code == 403
    assert steward.get(page).status_code == 403  # a draft reaches nobody
    assert table_counts(app) == before
    head: Web = web()
    head.login("juzhang")
    assert head.post(f"/policies/{policy_id}/publish", token_from=page).status_code == 302
    again = head.post(f"/policies/{policy_id}/publish", token_from=page)
    assert again.status_code == 422 and "已发布" in again.get_data(as_text=True)
