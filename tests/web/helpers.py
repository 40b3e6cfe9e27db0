"""A browser-like test client: signs in through the login form and posts real CSRF tokens."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Web:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()

    def token(self, path: str = "/login") -> str:
        page = self.client.get(path)
        found = TOKEN.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str, password: str = PASSWORD, *, at: str = "/login") -> Any:
        """Sign in through the form at ``at`` (the sign-in page a redirect pointed to)."""
        token = self.token(at)
        return self.client.post(at, data={"username": username, "password": password,
                                          "csrf_token": token})

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def text(self, path: str, status: int = 200, **kwargs: Any) -> str:
        response = self.client.get(path, **kwargs)
        assert response.status_code == status, (path, response.status_code,
                                                response.get_data(as_text=True)[:500])
        return str(response.get_data(as_text=True))

    def post(self, path: str, data: dict[str, Any] | None = None, *,
             token_from: str | None = None, **kwargs: Any) -> Any:
        body = dict(data or {})
        body.setdefault("csrf_token", self.token(token_from or "/tasks"))
        return self.client.post(path, data=body, **kwargs)


def open_items(app: Flask, rows: int, group: str, *, due_in: list[timedelta] | None = None,
               now: datetime | None = None) -> str:
    """Insert a case with ``rows`` ready work items for ``group`` straight into the tables."""
    from sqlalchemy import insert, select

    from server.engine import clock
    from server.extensions import db
    from server.models import Case, Deployment, WorkItem, WorkItemGroup

    now = now or clock.now()
    with app.app_context():
        deployment_id = db.session.execute(select(Deployment.id).limit(1)).scalar_one()
        case_id = str(uuid.uuid4())
        db.session.execute(insert(Case).values(
            id=case_id, reference=f"GJ-T-{case_id[:8]}", deployment_id=deployment_id,
            process_id="parallel_case", title="批量测试项目", status="running", area="",
            started_by="qiye", started_at=now, state_version=0, event_count=0, envelope="{}",
            summary="{}"))
        items, groups = [], []
        for n in range(rows):
            item_id = str(uuid.uuid4())
            offset = due_in[n % len(due_in)] if due_in else timedelta(days=3 + n % 20)
            items.append({"id": item_id, "case_id": case_id, "element_id": "handle_item",
                          "name": f"办理 {n:05d}", "lane": "", "form_key": "handle",
                          "candidate_groups": group, "state": "ready", "stage": "立项",
                          "due_at": now + offset, "due_provisional": False,
                          "created_at": now, "context": "{}"})
            groups.append({"work_item_id": item_id, "group_code": group, "state": "ready"})
        for start in range(0, rows, 2000):
            db.session.execute(insert(WorkItem), items[start:start + 2000])
            db.session.execute(insert(WorkItemGroup), groups[start:start + 2000])
        db.session.commit()
        db.session.remove()
    return case_id
