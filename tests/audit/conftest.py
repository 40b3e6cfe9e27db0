"""Fixtures for the audit tests: an app with the audit pages and no checkpoints left over."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.audit.walk import ensure_audit_pages
from tests.scenarios.conftest import concierge_app, walker  # noqa: F401 (the real process)


@pytest.fixture
def app(make_app: Any) -> Flask:
    application: Flask = make_app()
    ensure_audit_pages(application)
    return application
