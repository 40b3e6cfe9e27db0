"""Fixtures of the browser-workspace tests (on SQLite and PostgreSQL like every app test)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.web.helpers import Web


@pytest.fixture
def web(app: Flask) -> Any:
    def make() -> Web:
        return Web(app)

    return make
