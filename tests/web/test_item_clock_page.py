"""The item clock on the task page: the department stops it for 专家评审 and sends an item up
to the prefecture, with the article on screen and in the case's history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.engine.clock import FrozenClock
from tests.conftest import table_counts
from tests.helpers.intermediaries import case_in_handling
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web


def handling(make_app: Any, clock: FrozenClock) -> tuple[Walker, str]:
    walker = case_in_handling(make_app, clock)
    [task] = walker.ready("handle_item")
    return walker, task["id"]


def test_a_department_pauses_for_expert_review_and_refers_upward_on_the_page(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    walker, task_id = handling(make_app, frozen_clock)
    page = f"/tasks/{task_id}"
    sthj = Web(walker.app)
    sthj.login("sthj")
    html = sthj.text(page)
    assert 'id="item-clock"' in html and "15 自然日" in html
    assert "材料补齐之日（受理）起重新计算" in html and "第三十二条" in html
    # 环评报告表: 环境影响评价法 counts 日, so the card counts calendar days.
    assert 'data-light="green"' in html and "剩余15日（自然日）" in html

    paused = sthj.post(f"{page}/clock", {"action": "pause", "kind": "expert_review",
                                         "reason": "组织专家评审", "cap_days": "5"},
                       token_from=page)
    assert paused.status_code == 302
    html = sthj.text(page)
    assert "计时已暂停" in html
    assert "专家评审" in html and "《中华人民共和国行政许可法》第四十五条" in html
    assert "计时暂停中" in html  # the light says why it is held
    frozen_clock.advance(timedelta(days=2))
    assert sthj.post(f"{page}/clock", {"action": "resume"}, token_from=page).status_code == 302

    referred = sthj.post(f"{page}/clock", {"action": "refer", "level": "prefecture",
                                           "reason": "报楚雄州审批"}, token_from=page)
    assert referred.status_code == 302
    html = sthj.text(page)
    assert "上级审批中" in html and "《中华人民共和国行政许可法》第四十三条" in html
    types = [e["type"] for e in walker.events()
             if e["type"] in {"clock_paused", "clock_resumed", "item_referred_upward"}]
    assert types == ["clock_paused", "clock_resumed", "item_referred_upward"]
    # The case's history says what stopped the clock and on which article.
    steward = Web(walker.app)
    steward.login("guanjia")
    timeline = steward.text(f"/cases/{walker.case_id}")
    assert "计时暂停" in timeline and "专家评审 组织专家评审" in timeline
    assert "（依据：《中华人民共和国行政许可法》第四十五条）" in timeline
    assert "已上报上级审批" in timeline
    assert "（依据：《中华人民共和国行政许可法》第四十三条）" in timeline


def test_a_refused_clock_action_is_explained_and_changes_nothing(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    walker, task_id = handling(make_app, frozen_clock)
    page = f"/tasks/{task_id}"
    sthj = Web(walker.app)
    sthj.login("sthj")
    before = table_counts(walker.app)
    refused = sthj.post(f"{page}/clock", {"action": "pause", "kind": "hearing",
                                          "reason": "听证", "cap_days": ""}, token_from=page)
    assert refused.status_code == 302
    assert "time needed" in sthj.text(page)
    assert table_counts(walker.app) == before
    other = Web(walker.app)
    other.login("fgj")
    assert other.post(f"{page}/clock", {"action": "resume"},
                      token_from="/tasks").status_code == 403
    assert table_counts(walker.app) == before
