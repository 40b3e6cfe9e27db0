"""Issue 19 acceptance: the modeler opens with a Chinese properties panel that offers
no listener or async option — only what guanjia runs (docs/CONVENTIONS.md)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import Api
from tests.designer.conftest import ensure_designer

ROOT = Path(__file__).resolve().parents[2]

# Groups guanjia does not run, in English and in Chinese: none may show.
NOT_RUN = ("Listeners", "Execution listeners", "Task listeners", "执行监听器", "任务监听器",
           "Asynchronous continuations", "异步延续", "Job execution", "External task",
           "Field injections", "Connector inputs", "Inputs", "Outputs", "History cleanup")


@pytest.fixture
def live(make_app: Any) -> Iterator[tuple[Flask, str]]:
    app: Flask = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                          GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    ensure_designer(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def group_titles(page: Any) -> list[str]:
    titles = page.locator("#panel .bio-properties-panel-group-header-title")
    return [t.strip() for t in titles.all_inner_texts()]


def select(page: Any, element_id: str) -> list[str]:
    """Click the element on the canvas as a designer would; return the panel's groups."""
    page.evaluate("""(id) => { const m = window.designer.modeler.modeler;
        const canvas = m.get('canvas');
        canvas.zoom(1);
        canvas.scrollToElement(m.get('elementRegistry').get(id),
                               {top: 200, bottom: 200, left: 400, right: 200}); }""", element_id)
    page.click(f"#canvas .djs-element.djs-shape[data-element-id='{element_id}']",
               position={"x": 10, "y": 10})
    page.wait_for_function(
        """(id) => {
             const el = document.querySelector('#panel .bio-properties-panel-header-label');
             const sel = window.designer.modeler.modeler.get('selection').get();
             return el && sel.length === 1 && sel[0].id === id;
           }""", arg=element_id)
    return group_titles(page)


def test_modeler_panel_is_chinese_without_listeners_or_async(
        live: tuple[Flask, str], page: Any, screenshots_dir: Path) -> None:
    app, base = live
    api = Api(app, app.test_client())
    page.set_extra_http_headers({"Authorization": f"Bearer {api.token('sheji')}"})
    page.goto(f"{base}/designer/edit/concierge_service.bpmn")
    page.wait_for_selector("body[data-ready='1']", timeout=20000)

    # The palette speaks Chinese.
    palette = page.locator("#canvas .djs-palette")
    assert palette.locator(".entry[aria-label='创建任务']").count() == 1
    assert palette.locator(".entry[aria-label='创建开始事件']").count() == 1
    assert palette.locator(".entry[aria-label='Create task']").count() == 0

    # A user task: general, form and assignment — and nothing guanjia does not run.
    groups = select(page, "review_application")
    # The context pad next to it offers Chinese actions.
    assert page.locator(".djs-context-pad .entry[title='删除']").count() == 1
    for title in ("常规", "表单", "分配", "扩展属性"):
        assert title in groups, (title, groups)
    for title in NOT_RUN:
        assert title not in groups, (title, groups)
    panel = page.locator("#panel .bio-properties-panel")
    assert panel.get_by_text("办理人", exact=True).count() == 1
    assert panel.get_by_text("候选组", exact=True).count() == 1
    header = page.locator("#panel .bio-properties-panel-header-type")
    assert header.inner_text().strip() == "用户任务"
    # The candidate groups of the diagram are shown in the Chinese entry.
    page.click("#panel [data-group-id='group-CamundaPlatform__UserAssignment'] "
               ".bio-properties-panel-group-header")
    field = panel.locator("[data-entry-id='candidateGroups'] input")
    field.wait_for()
    assert "bureau" in field.input_value()
    assert panel.locator("[data-entry-id='dueDate'] input").input_value() == (
        "${due_in_working_days(1)}")
    # Follow-up date and priority are not read by guanjia: not offered.
    assert panel.locator("[data-entry-id='followUpDate']").count() == 0
    assert panel.locator("[data-entry-id='priority']").count() == 0
    page.screenshot(path=str(screenshots_dir / "modeler-panel-user-task.png"))

    # The call activity keeps its multi-instance collection but no async options in it.
    groups = select(page, "handle_items")
    assert "多实例" in groups and "被调用元素" in groups, groups
    for title in NOT_RUN:
        assert title not in groups, (title, groups)
    page.click("#panel [data-group-id='group-multiInstance'] .bio-properties-panel-group-header")
    mi = panel.locator("[data-group-id='group-multiInstance']")
    mi.get_by_text("集合", exact=True).wait_for()
    assert mi.get_by_text("元素变量", exact=True).count() == 1
    for text in ("Asynchronous before", "Asynchronous after", "之前异步", "之后异步",
                 "Retry time cycle", "Exclusive"):
        assert mi.get_by_text(text, exact=True).count() == 0, text

    # A business rule task offers its DMN implementation, a script task its script.
    groups = select(page, "check_service_scope")
    assert "实现" in groups, groups
    groups = select(page, "mark_rejected")
    assert "脚本" in groups, groups
    for title in NOT_RUN:
        assert title not in groups, (title, groups)
    page.screenshot(path=str(screenshots_dir / "modeler-panel-script-task.png"))

    assert page.console_errors == []
    assert page.external_requests == []
