"""The app is assembled whole (server/assembly.py): every blueprint or a loud failure, and the
background dispatcher the services send through."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from server.services.background import DISPATCHER


def test_the_app_serves_the_api_and_the_html_workspace_and_can_send_background_work(
        make_app: Any) -> None:
    app = make_app(deploy=False)
    assert {"api", "auth", "tasklist", "cases", "portal", "admin"} <= set(app.blueprints)
    assert callable(app.extensions[DISPATCHER])


def test_a_broken_html_workspace_stops_start_up_instead_of_serving_the_api_alone(
        make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # ``server.web`` without its registration: importing it fails the way a broken module does.
    # The assembly imports it when an app is made, so it is imported afresh.
    monkeypatch.setitem(sys.modules, "server.web", types.ModuleType("server.web"))
    monkeypatch.delitem(sys.modules, "server.assembly")
    with pytest.raises(ImportError, match="register_web"):
        make_app(deploy=False)
