"""An auditor replays a finished case in the browser and looks at a step in the middle."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from server.engine.clock import FrozenClock
from tests.audit.walk import ensure_audit_pages, walk_case
from tests.conftest import PASSWORD, Api

FIXTURE_PROCESSES = Path(__file__).resolve().parents[1] / "audit" / "fixtures" / "processes"


@pytest.fixture
def served(make_app: Any) -> Iterator[tuple[Any, str]]:
    # The same fixture process, with BPMN-DI so that the viewer can draw both pools.
    app = make_app(GUANJIA_PROCESSES_DIR=str(FIXTURE_PROCESSES))
    ensure_audit_pages(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_an_auditor_replays_a_case_step_by_step(served: tuple[Any, str], page: Any,
                                                frozen_clock: FrozenClock,
                                                screenshots_dir: Path) -> None:
    app, base = served
    api = Api(app, app.test_client())
    walk = walk_case(api, frozen_clock, 4)

    page.goto(f"{base}/login")
    page.fill("input[name=username]", "shenji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/audit/cases/{walk.case_id}")
    page.wait_for_function("document.body.dataset.replayReady === '1'", timeout=20000)

    total = int(page.get_attribute("#replay-slider", "max")) + 1
    middle = next(s for s in walk.snapshots if len(s.ready) >= 3).last_case_seq - 1
    assert 0 < middle < total - 1
    page.click("#replay-first")
    for _ in range(middle):
        page.click("#replay-next")
    assert page.text_content("#replay-counter") == f"{middle + 1} / {total}"
    # Tokens where they were: the review is done, several item tasks are active at once.
    assert page.locator(".djs-element.gj-done[data-element-id=review]").count() == 1
    assert page.locator(".djs-element.gj-active").count() >= 1
    assert page.locator("#replay-active li").count() >= 3
    # The data as it stood then, and who acted.
    data_text = page.text_content("#replay-data")
    assert "储能电池基地" in data_text and "closing_note" not in data_text
    assert page.text_content("#replay-event")
    page.screenshot(path=str(screenshots_dir / "audit-replay-middle.png"), full_page=True)

    page.click("#replay-last")
    # The last step is this very visit: the auditor's opening is part of the case's history.
    last = page.text_content("#replay-event")
    # the auditor by name, not login (words.py via the replay page)
    assert "case_opened_by_auditor" in last and "办理人审计" in last and "shenji" not in last
    page.click("#replay-prev")
    # Before it, the seal of the state the case ended in, then the end itself.
    assert "case_state_sealed" in page.text_content("#replay-event")
    page.click("#replay-prev")
    assert "case_ended" in page.text_content("#replay-event")
    assert page.locator(".djs-element.gj-active").count() == 0
    assert "closing_note" in page.text_content("#replay-data")
    assert page.console_errors == [] and page.external_requests == []
