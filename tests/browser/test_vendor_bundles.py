"""The committed bpmn-io bundles in frontend/dist/ (served at /static/vendor/) load and work.

Serves frontend/dist/ at /static/vendor/ and frontend/demo/ at /demo/ from a
throwaway loopback HTTP server and drives the demo pages in Chromium.

Run by hand to look at the demos:  python tests/browser/test_vendor_bundles.py
"""

from __future__ import annotations

import functools
import posixpath
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
ROUTES = {
    "/static/vendor/": REPO_ROOT / "frontend" / "dist",
    "/demo/": REPO_ROOT / "frontend" / "demo",
}


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".css": "text/css",
        ".bpmn": "application/xml",
        ".dmn": "application/xml",
        ".json": "application/json",
        ".woff": "font/woff",
        ".woff2": "font/woff2",
        ".ttf": "font/ttf",
        ".svg": "image/svg+xml",
    }

    def translate_path(self, path: str) -> str:
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        for prefix, root in ROUTES.items():
            if path.startswith(prefix):
                rel = posixpath.normpath(path[len(prefix) :]).lstrip("/")
                if rel == "." or rel.startswith(".."):
                    rel = ""
                return str(root / rel)
        return str(REPO_ROOT / "nonexistent")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _start_server() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = _start_server()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _open_demo(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.demoReady || window.demoError", timeout=30_000)
    error = page.evaluate("window.demoError")
    assert error is None, f"demo page failed: {error}"


def _assert_clean(page: Any) -> None:
    assert page.console_errors == [], page.console_errors
    assert page.external_requests == [], page.external_requests


def test_bundles_are_committed_outside_the_python_sources() -> None:
    vendor = REPO_ROOT / "frontend" / "dist"
    for rel in (
        "bpmn/viewer.js",
        "bpmn/viewer.css",
        "bpmn/modeler.js",
        "bpmn/modeler.css",
        "dmn/dmn.js",
        "dmn/dmn.css",
        "form-js/form-editor.js",
        "form-js/form-editor.css",
    ):
        f = vendor / rel
        assert f.is_file(), f"missing {rel}: cd frontend && npm ci && npm run build"
        assert f.stat().st_size < 2_500_000, f"{rel} is {f.stat().st_size} bytes"
    assert list((vendor / "fonts").glob("bpmn-*.woff2")), "bpmn-font not bundled"
    # Minified library code is no Python source: none under server/ (the grep of issue 20 for
    # library internals must find only the fenced modules).
    assert not list((REPO_ROOT / "server").rglob("*.js.LEGAL.txt"))
    assert not (REPO_ROOT / "server" / "web" / "static" / "vendor").exists()


def test_viewer_renders_and_marks(page: Any, base_url: str, screenshots_dir: Path) -> None:
    _open_demo(page, f"{base_url}/demo/viewer.html")
    assert page.locator("#canvas svg .djs-element").count() >= 9
    assert page.evaluate("window.demoHandle.missing") == []
    assert page.evaluate("window.demoHandle.warnings.length") == 0

    def classes(element_id: str) -> str:
        return page.get_attribute(f'#canvas .djs-element[data-element-id="{element_id}"]', "class")

    assert "gj-done" in classes("Task_Intake")
    assert "gj-done" in classes("Flow_1")
    assert "gj-active" in classes("Task_Review")
    assert "gj-overdue" in classes("Task_Permit")
    assert not any(c in classes("EndEvent_1") for c in ("gj-done", "gj-active", "gj-overdue"))

    def fill(element_id: str) -> str:
        return page.evaluate(
            """id => getComputedStyle(document.querySelector(`#canvas
                 .djs-element[data-element-id="${id}"] .djs-visual > :first-child`)).fill""",
            element_id,
        )

    assert fill("Task_Intake") == "rgb(227, 237, 227)"  # grey-green
    assert fill("Task_Review") == "rgb(219, 234, 254)"  # blue
    assert fill("Task_Permit") == "rgb(253, 226, 225)"  # red
    assert fill("EndEvent_1") == "rgb(255, 255, 255)"  # untouched

    # Markers can be moved without re-importing (auditor replay stepping).
    missing = page.evaluate(
        "window.demoHandle.setMarkers({done: ['Task_Review'], active: ['Task_Permit', 'Nope']})"
    )
    assert missing == ["Nope"]
    assert "gj-done" in classes("Task_Review")
    assert "gj-active" in classes("Task_Permit")
    assert "gj-overdue" not in classes("Task_Permit")
    assert "gj-done" not in classes("Task_Intake")
    page.evaluate(
        """window.demoHandle.setMarkers({done: ['StartEvent_1', 'Task_Intake', 'Flow_1', 'Flow_2'],
             active: ['Task_Review'], overdue: ['Task_Permit']})"""
    )
    page.screenshot(path=str(screenshots_dir / "vendor-viewer.png"), full_page=True)
    _assert_clean(page)


def test_modeler_edits_and_saves(page: Any, base_url: str, screenshots_dir: Path) -> None:
    _open_demo(page, f"{base_url}/demo/modeler.html")
    assert page.locator("#canvas svg .djs-element").count() >= 9
    assert page.locator("#canvas .djs-palette").count() == 1

    xml = page.evaluate(
        """async () => {
             const m = window.demoHandle.modeler;
             const el = m.get('elementRegistry').get('Task_Review');
             m.get('modeling').updateProperties(el, {
               name: '复核材料 Review v2', 'camunda:assignee': 'alice'});
             return await window.demoHandle.saveXML();
           }"""
    )
    assert 'name="复核材料 Review v2"' in xml
    assert 'camunda:assignee="alice"' in xml
    assert 'camunda:candidateGroups="reviewer"' in xml  # extension attrs survive
    assert 'camunda:formKey="review"' in xml

    # The Camunda 7 properties panel shows the selected user task.
    page.evaluate(
        """() => { const m = window.demoHandle.modeler;
                   m.get('selection').select(m.get('elementRegistry').get('Task_Review')); }"""
    )
    panel = page.locator("#panel .bio-properties-panel")
    panel.wait_for()
    for heading in ("分配", "表单"):  # zh-CN panel (issue 19)
        assert panel.get_by_text(heading, exact=True).count() >= 1, heading

    found = page.evaluate("window.demoHandle.highlight('Task_Permit', 'Missing form key')")
    assert found is True
    assert page.evaluate("window.demoHandle.highlight('NoSuchTask', 'x')") is False
    cls = page.get_attribute('#canvas .djs-element[data-element-id="Task_Permit"]', "class")
    assert "gj-error" in cls
    overlay = page.locator(".gj-error-overlay")
    assert overlay.count() == 1
    assert overlay.inner_text() == "Missing form key"
    page.screenshot(path=str(screenshots_dir / "vendor-modeler.png"), full_page=True)

    page.evaluate("window.demoHandle.clearHighlights()")
    assert page.locator(".gj-error-overlay").count() == 0
    cls = page.get_attribute('#canvas .djs-element[data-element-id="Task_Permit"]', "class")
    assert "gj-error" not in cls
    _assert_clean(page)


def test_modeler_opens_empty_diagram(page: Any, base_url: str) -> None:
    _open_demo(page, f"{base_url}/demo/modeler.html")
    xml = page.evaluate(
        """async () => {
             const c = document.createElement('div'); c.style.height = '300px';
             const p = document.createElement('div');
             document.body.append(c, p);
             const h = GuanjiaModeler.open(c, p, '');
             await h.ready;
             return await h.saveXML();
           }"""
    )
    assert "bpmn:startEvent" in xml
    bad = page.evaluate(
        """async () => {
             const c = document.createElement('div'); const p = document.createElement('div');
             document.body.append(c, p);
             try { await GuanjiaModeler.open(c, p, '<nope').ready; return 'imported'; }
             catch (e) { return 'rejected'; }
           }"""
    )
    assert bad == "rejected"


def test_dmn_editor_renders(page: Any, base_url: str, screenshots_dir: Path) -> None:
    _open_demo(page, f"{base_url}/demo/dmn.html")
    table = page.locator("#editor .tjs-table")
    table.wait_for()
    assert page.evaluate("window.demoHandle.modeler.getActiveView().type") == "decisionTable"
    assert page.locator("#editor").get_by_text("Route by investment").count() >= 1
    xml = page.evaluate("window.demoHandle.saveXML()")
    assert 'id="Decision_route"' in xml
    assert "&gt;= 1000" in xml
    page.screenshot(path=str(screenshots_dir / "vendor-dmn.png"), full_page=True)
    _assert_clean(page)


def test_form_editor_renders(page: Any, base_url: str, screenshots_dir: Path) -> None:
    _open_demo(page, f"{base_url}/demo/form-editor.html")
    page.locator("#editor .fjs-editor-container").wait_for()
    assert page.locator("#editor .fjs-palette").count() >= 1
    assert page.locator("#editor").get_by_text("Company name").count() >= 1
    schema = page.evaluate("window.demoHandle.getSchema()")
    assert [c["key"] for c in schema["components"]] == ["company", "amount", "needsLand"]
    page.screenshot(path=str(screenshots_dir / "vendor-form-editor.png"), full_page=True)
    _assert_clean(page)


if __name__ == "__main__":  # pragma: no cover - manual look at the demos
    srv = _start_server()
    print(f"demos at http://127.0.0.1:{srv.server_address[1]}/demo/index.html (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.shutdown()
