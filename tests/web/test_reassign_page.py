"""Reassigning a task (转办) from the case page: a form for leaders and administrators only."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start
from tests.web.helpers import Web


def test_a_leader_reassigns_from_the_case_page(app: Flask, web: Any, api: Api) -> None:
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    page = f"/cases/{case['id']}"
    action = f"{page}/tasks/{review['id']}/reassign"

    clerk: Web = web()
    clerk.login("zhaoshang")
    assert action not in clerk.text(page)
    assert clerk.post(action, {"to": "zhaoshang", "reason": "自己转给自己"},
                      token_from=page).status_code == 403

    leader: Web = web()
    leader.login("lingdao")
    shown = leader.text(page)
    assert action in shown and 'name="reason"' in shown
    assert '<option value="zhaoshang">招商局（zhaoshang）</option>' in shown

    before = table_counts(app)
    refused = leader.post(action, {"to": "zhaoshang", "reason": " "}, token_from=page)
    assert refused.status_code == 422
    assert "转办未完成" in refused.get_data(as_text=True)
    assert leader.post(action, {"to": "fgj", "reason": "转给发改局"},
                       token_from=page).status_code == 422
    assert table_counts(app) == before

    done = leader.post(action, {"to": "zhaoshang", "reason": "指定专人办理"}, token_from=page)
    assert done.status_code == 302
    timeline = leader.text(page)
    assert "任务转办" in timeline and "指定专人办理" in timeline
    assert [t["id"] for t in api.tasks("zhaoshang", scope="mine")] == [review["id"]]
