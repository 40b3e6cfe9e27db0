"""The OpenAPI 3 description of the JSON API, generated from the same marshmallow schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from server.schemas import api as s

_PROBLEM = {"description": "RFC 9457 problem details",
            "content": {"application/problem+json": {"schema": {"$ref":
                                                                 "#/components/schemas/Problem"}}}}


def _op(summary: str, *, body: str | None = None, ok: str | dict[str, Any] | None = None,
        status: str = "200",
        errors: tuple[int, ...] = (401, 403, 404), params: list[dict[str, Any]] | None = None,
        secured: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": body}}}
    op["responses"][status] = {"description": "OK", **({"content": {"application/json": {
        "schema": ok}}} if ok else {})}
    for code in errors + (422,):
        op["responses"][str(code)] = _PROBLEM
    if params:
        op["parameters"] = params
    if not secured:
        op["security"] = []
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


@cache
def build_openapi() -> dict[str, Any]:
    spec = APISpec(title="guanjia API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "重大招商引资项目帮办代办 — cases, tasks and forms"},
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", {"type": "object", "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "object"}}})
    for schema in (s.TokenRequest, s.TokenResponse, s.StartCaseRequest, s.CompleteTaskRequest,
                   s.TerminateCaseRequest, s.ReassignTaskRequest,
                   s.WorkItemResponse, s.TaskPageResponse, s.TaskDetailResponse,
                   s.EventResponse, s.CaseResponse, s.CaseDetailResponse, s.DeployRequest,
                   s.DeploymentResponse, s.HandUpRequest, s.HandupDecisionRequest,
                   s.HandupResponse):
        spec.components.schema(schema.__name__, schema=schema)
    spec.options["security"] = [{"bearer": []}]
    spec.path("/auth/token", operations={"post": _op(
        "Get a bearer token", body="TokenRequest", ok="TokenResponse", errors=(401,),
        secured=False)})
    spec.path("/processes", operations={"get": _op(
        "The newest deployment: its number, processes and files", errors=(401,),
        ok={"type": "object", "properties": {"deployment": {
            "allOf": [{"$ref": "#/components/schemas/DeploymentResponse"}], "nullable": True}}})})
    spec.path("/deployments", operations={"post": _op(
        "Deploy BPMN/DMN files", body="DeployRequest", ok="DeploymentResponse", status="201")})
    spec.path("/cases", operations={"post": _op(
        "Start a case", body="StartCaseRequest", ok="CaseResponse", status="201")})
    spec.path("/cases/{case_id}", operations={"get": _op(
        "A case with data, tasks and history", ok="CaseDetailResponse",
        params=[_path_param("case_id")])})
    spec.path("/cases/{case_id}/terminate", operations={"post": _op(
        "Propose terminating a running case (the responsible leader decides)",
        body="TerminateCaseRequest", ok="CaseResponse", status="202",
        params=[_path_param("case_id")], errors=(401, 403, 404, 409))})
    # The query parameters come from the schema the route loads them with (one definition).
    spec.path("/tasks", operations={"get": _op("My tasks and my groups' tasks",
                                               ok="TaskPageResponse",
                                               params=[{"in": "query", "schema": s.TaskQuery}])})
    spec.path("/tasks/{task_id}", operations={"get": _op(
        "A task with its form", ok="TaskDetailResponse", params=[_path_param("task_id")])})
    for action, summary in (("complete", "Complete a task with form data"),
                            ("claim", "Claim a group task"), ("release", "Release a claim")):
        spec.path(f"/tasks/{{task_id}}/{action}", operations={"post": _op(
            summary, body="CompleteTaskRequest" if action == "complete" else None,
            ok="WorkItemResponse", params=[_path_param("task_id")],
            errors=(401, 403, 404, 409))})
    spec.path("/tasks/{task_id}/reassign", operations={"post": _op(
        "Reassign an open task to a member of its groups, or back to the groups",
        body="ReassignTaskRequest", ok="WorkItemResponse", params=[_path_param("task_id")],
        errors=(401, 403, 404, 409))})
    spec.path("/tasks/{task_id}/handup", operations={"post": _op(
        "Hand a 州-level item up to the prefecture department", body="HandUpRequest",
        ok="HandupResponse", status="201", params=[_path_param("task_id")],
        errors=(401, 403, 404, 409))})
    spec.path("/handups", operations={"get": _op(
        "Items handed up to my prefecture departments", errors=(401,),
        ok={"type": "object", "properties": {"items": {
            "type": "array", "items": {"$ref": "#/components/schemas/HandupResponse"}}}})})
    handup = [{"name": "handup_id", "in": "path", "required": True,
               "schema": {"type": "integer"}}]
    spec.path("/handups/{handup_id}", operations={"get": _op(
        "A handed-up item", ok="HandupResponse", params=handup)})
    spec.path("/handups/{handup_id}/accept", operations={"post": _op(
        "Accept (受理) a handed-up item", ok="HandupResponse", params=handup,
        errors=(401, 403, 404, 409))})
    spec.path("/handups/{handup_id}/decide", operations={"post": _op(
        "Decide a handed-up item; the county's clock runs again",
        body="HandupDecisionRequest", ok="HandupResponse", params=handup,
        errors=(401, 403, 404, 409))})
    return spec.to_dict()
