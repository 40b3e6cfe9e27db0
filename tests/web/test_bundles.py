"""The third-party browser bundles are built into frontend/dist/, outside the Python sources,
and the app serves them at the same /static/vendor/ addresses the pages link (issue 20)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from flask import Flask

from tests.conftest import ROOT

DIST = ROOT / "frontend" / "dist"
SCRIPT = re.compile(r'<script src="(/static/vendor/[^"]+)"')


def _fetch(web: Any, path: str) -> tuple[int, str, bytes]:
    """Status, type and body of a static file (the response closed: its file is let go)."""
    with web.get(path) as response:
        return response.status_code, response.mimetype, response.get_data()


def test_the_dashboard_links_its_chart_bundle_and_the_app_serves_the_built_file(
        app: Flask, web: Any) -> None:
    leader = web()
    leader.login("lingdao")
    page = leader.text("/dashboard")
    assert SCRIPT.findall(page) == ["/static/vendor/charts/charts.js"]
    assert _fetch(leader, "/static/vendor/charts/charts.js") == (
        200, "text/javascript", (DIST / "charts" / "charts.js").read_bytes())
    # The CSS files find their fonts next door, as the build wrote them.
    status, _type, css = _fetch(leader, "/static/vendor/bpmn/viewer.css")
    fonts = re.findall(r"url\(\"?\.\./(fonts/[^\")?#]+)", css.decode())
    assert status == 200 and fonts
    assert all(_fetch(leader, f"/static/vendor/{f}")[0] == 200 for f in fonts)
    assert _fetch(leader, "/static/vendor/../../server/config.py")[0] == 404
    # The app's own stylesheet is still where it was.
    assert _fetch(leader, "/static/css/print.css")[0] == 200


def test_library_internals_appear_only_in_the_fenced_modules() -> None:
    # The grep of issue 20's acceptance, run as written: minified bundles no longer match it.
    found = subprocess.run(
        ["grep", "-rln", r"_commit_all\|\._parent\|\._children\|_get_internal_data\|__self__",
         "server"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.split()
    assert sorted(found) == ["server/engine/library.py", "server/models/sqlalchemy_internals.py"]
