"""A parallel case started over the API and its one task of a kind (used across the API tests)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

ITEMS = [
    {"code": "project_filing", "name": "企业投资项目备案", "department": "dept_fgj",
     "promised_days": 3},
    {"code": "land_planning", "name": "建设用地规划许可证", "department": "dept_zrzy",
     "promised_days": 5},
]


def start(api: Api, user: str = "qiye",
          items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    response = api.post("/cases", user, json={"process_id": "parallel_case", "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "items": items or ITEMS}})
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def only_task(api: Api, user: str, element_id: str) -> dict[str, Any]:
    tasks = [t for t in api.tasks(user) if t["element_id"] == element_id]
    assert len(tasks) == 1, tasks
    return tasks[0]
