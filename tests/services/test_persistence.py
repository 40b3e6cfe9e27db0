"""What a completion writes: the same early and late in a case, and right across processes.

Production runs several web processes and Celery workers on one database; each keeps live
workflows in memory, so a process must notice when another one moved a case on.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tests.helpers.api_cases import only_task, start
from tests.helpers.persistence import items

USERS = {"dept_fgj": "fgj", "dept_zrzy": "zrzy", "dept_zjj": "zjj", "dept_sthj": "sthj",
         "dept_scjg": "scjg"}




def sheets(api: Api, case_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(user, t) for user in USERS.values() for t in api.tasks(user)
            if t["case_id"] == case_id and t["element_id"] == "take_sheet"]


PRINCIPAL = re.compile(r"\b(api_tokens|users|user_groups|groups|enterprises)\b")


def test_a_completion_writes_the_same_early_and_late_in_a_case(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.extensions import db

    # What a normal completion writes: a step slower than the slow-step mark (50 ms — a cold
    # first completion on a busy machine) lets go of its transaction and takes it again, which
    # adds statements that have nothing to do with the case's length.
    monkeypatch.setattr("server.engine.scripting.SLOW_STEP_SECONDS", 60.0)

    case = start(api, items=items(10))
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    written: list[tuple[int, int]] = []  # statements, bytes sent, per completion
    current = [0, 0]

    def count(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any,
              _many: bool) -> None:
        if PRINCIPAL.search(statement):
            return  # who is calling: a token checked a moment ago costs no query (issue 18)
        current[0] += 1
        current[1] += len(statement) + len(repr(params))

    with api.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for user, sheet in sheets(api, case["id"]):
            current[:] = [0, 0]
            response = api.post(f"/tasks/{sheet['id']}/complete", user,
                                json={"data": {"receiver": "领受人"}})
            assert response.status_code == 200, response.json
            written.append((current[0], current[1]))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)

    assert len(written) == 10
    # The tenth sheet of the case costs what the first did: no statement more, and the bytes
    # differ only by the item's own text, not by what the case did before.
    assert {statements for statements, _ in written} == {written[0][0]}
    sizes = [size for _, size in written]
    assert max(sizes) - min(sizes) < 0.05 * min(sizes), sizes


def test_two_processes_serving_one_case_each_see_the_others_steps(make_app: Any) -> None:
    from server.extensions import db

    first_app = make_app()
    second_app = make_app(deploy=False)
    first = Api(first_app, first_app.test_client())
    second = Api(second_app, second_app.test_client())
    case = start(first, items=items(4))
    review = only_task(first, "zhaoshang", "review")
    first.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})

    # The two processes take turns on one case; each holds the case in memory from its own
    # last step, so every turn starts on a version the other process has moved.
    for turn in range(4):
        api = (first, second)[turn % 2]
        user, sheet = sheets(api, case["id"])[0]
        response = api.post(f"/tasks/{sheet['id']}/complete", user,
                            json={"data": {"receiver": f"第{turn}位"}})
        assert response.status_code == 200, response.json

    handling = [t for user in USERS.values() for t in second.tasks(user)
                if t["case_id"] == case["id"] and t["element_id"] == "handle_item"]
    assert len(handling) == 4  # every item moved on, whichever process took its sheet
    shown = first.get(f"/cases/{case['id']}", "zhaoshang").json
    completed = [e for e in shown["history"] if e["type"] == "task_completed"]
    assert [e["payload"]["new"].get("receiver") for e in completed[1:]] == [
        f"第{turn}位" for turn in range(4)]
    assert [e["case_seq"] for e in shown["history"]] == list(range(1, len(shown["history"]) + 1))
    with first_app.app_context():
        version = db.session.execute(sa.text("SELECT state_version FROM cases WHERE id = :c"),
                                     {"c": case["id"]}).scalar()
    assert version == 5  # the review and four sheets: one version each, none lost
