"""The steward team in the browser: the window picks real people from lists, and a leader or
the window changes the team on the case page; others may not (403, nothing changed)."""

from __future__ import annotations

from flask import Flask

from tests.conftest import table_counts
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web


def test_the_window_picks_the_team_from_lists_of_real_people(concierge_app: Flask,
                                                             walker: Walker) -> None:
    walker.start()
    walker.accept()
    [team_task] = walker.ready("form_steward_team")
    page = f"/tasks/{team_task['id']}"
    window = Web(concierge_app)
    window.login("zhuanchuang")
    form = window.text(page)
    for option in ('<option value="guanjia"', '<option value="guanjia2"',
                   '<option value="lingdao"', '<option value="lingdao2"'):
        assert option in form
    # Co-agents come from the departments of the case's items (project_filing: 发改局).
    assert 'name="co_agent_usernames" value="fgj"' in form
    assert 'name="co_agent_usernames" value="zjj"' not in form

    before = table_counts(concierge_app)
    refused = window.post(page, {"steward_username": "lingdao", "leader_username": "lingdao"},
                          token_from=page)
    assert refused.status_code == 422
    assert "不是在岗的项目管家" in refused.get_data(as_text=True)
    assert table_counts(concierge_app) == before
    done = window.post(page, {"steward_username": "guanjia", "leader_username": "lingdao",
                              "co_agent_usernames": "fgj"}, token_from=page)
    assert done.status_code == 302
    case_page = window.text(f"/cases/{walker.case_id}")
    assert "项目管家服务团队" in case_page and "管家（guanjia）" in case_page
    assert "发改局（fgj）" in case_page


def test_only_a_leader_or_the_window_changes_the_team(concierge_app: Flask,
                                                      walker: Walker) -> None:
    walker.start()
    walker.accept()
    walker.do("zhuanchuang", "form_steward_team")
    page = f"/cases/{walker.case_id}"
    action = f"{page}/team"
    change = {"steward_username": "guanjia2", "leader_username": "lingdao", "reason": "调岗"}

    steward = Web(concierge_app)
    steward.login("guanjia")
    assert action not in steward.text(page)
    before = table_counts(concierge_app)
    assert steward.post(action, change, token_from=page).status_code == 403
    enterprise = Web(concierge_app)
    enterprise.login("qiye_b")
    assert enterprise.post(action, change, token_from="/tasks").status_code in {403, 404}
    assert table_counts(concierge_app) == before

    leader = Web(concierge_app)
    leader.login("lingdao")
    assert action in leader.text(page)
    refused = leader.post(action, {**change, "reason": ""}, token_from=page)
    assert refused.status_code == 422 and "团队未调整" in refused.get_data(as_text=True)
    same = leader.post(action, {**change, "steward_username": "guanjia"}, token_from=page)
    assert same.status_code == 422 and "无需调整" in same.get_data(as_text=True)
    assert table_counts(concierge_app) == before
    assert leader.post(action, change, token_from=page).status_code == 302
    shown = leader.text(page)
    assert "管家乙（guanjia2）" in shown
    assert "调岗" in shown  # the timeline names the decision with its reason
    assert [t["element_id"] for t in walker.ready()] == ["draft_service_plan"]
