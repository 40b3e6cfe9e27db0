"""Designer tests: an app whose forms folder is a private copy (deploying a form writes it)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FIXTURES, Api

DESIGNER_FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAIN_BPMN = (FIXTURES / "processes" / "parallel_items.bpmn").read_text(encoding="utf-8")


def ensure_designer(app: Flask) -> None:
    """Register the designer blueprint when the web package does not (yet) do it."""
    from server.web.designer import register_designer

    if "designer" not in app.blueprints:
        register_designer(app)


@pytest.fixture
def app(make_app: Any, tmp_path: Path) -> Flask:
    forms = tmp_path / "forms"
    shutil.copytree(FIXTURES / "forms", forms)
    application: Flask = make_app(GUANJIA_FORMS_DIR=str(forms))
    ensure_designer(application)
    from server.extensions import db

    with application.app_context():
        # The shared harness empties its own tables between tests; drafts are ours.
        db.session.execute(db.text("DELETE FROM design_drafts"))
        db.session.commit()
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(app, client)


class Designer:
    """Calls the designer's JSON endpoints as a signed-in user."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def call(self, method: str, path: str, user: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.api.token(user)}",
                   "X-Guanjia-Designer": "1"}
        return self.api.client.open(f"/designer{path}", method=method, headers=headers,
                                    **kwargs)

    def deploy(self, user: str, files: dict[str, str], comment: str = "") -> Any:
        return self.call("POST", "/api/deploy", user, json={"files": files, "comment": comment})


@pytest.fixture
def designer(api: Api) -> Designer:
    return Designer(api)
