"""API views: parse with a schema, call one service, dump with a schema."""

from __future__ import annotations

import functools
from typing import Any

from flask import current_app, jsonify, request
from marshmallow import Schema

from server.schemas.api import (
    CaseResponse,
    CompleteTaskRequest,
    DeploymentResponse,
    DeployRequest,
    EventResponse,
    ReassignTaskRequest,
    StartCaseRequest,
    TaskDetailResponse,
    TaskPageResponse,
    TaskQuery,
    TerminateCaseRequest,
    TokenRequest,
    TokenResponse,
    WorkItemResponse,
)
from server.services import case_state, cases, designer, processes, tasks, termination, users
from server.services.errors import PermissionDeniedError, ValidationFailedError
from server.web.api import bp
from server.web.api.auth import current_user, token_required
from server.web.api.openapi import build_openapi
from server.web.signin_limits import sign_in_limited


@functools.cache
def _schema(cls: type[Schema], *, many: bool = False) -> Schema:
    """One instance per schema class, built at first use: building one cost more than the
    load or dump itself (issue 18's profile). Marshmallow 4 schemas keep no per-call state,
    so threads share them."""
    return cls(many=many)


def _body(schema: Any) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if payload is None:
        reason = "not JSON"
        try:
            current_app.json.loads(request.get_data())
        except ValueError as exc:  # say why: too deep, a lone surrogate, a NUL
            reason = str(exc)
        raise ValidationFailedError(f"the request body must be JSON ({reason})",
                                    {"_schema": [reason]})
    loaded: dict[str, Any] = _schema(schema).load(payload)
    return loaded


@bp.post("/auth/token")
@sign_in_limited
def issue_token() -> Any:
    """Exchange username and password for a bearer token; 401 when they are wrong, 429 with
    ``Retry-After`` after too many attempts (per name and per address)."""
    body = _body(TokenRequest)
    user = users.sign_in(body["username"], body["password"], channel="api",
                         address=request.remote_addr)
    ttl = current_app.config["GUANJIA"].token_ttl_hours
    token = users.issue_token(user, ttl_hours=ttl)
    return _schema(TokenResponse).dump({"token": token, "expires_in": ttl * 3600,
                                 "username": user.username})


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_openapi())


@bp.get("/processes")
@token_required
def list_processes() -> Any:
    latest = processes.latest_for(current_user())
    return {"deployment": _schema(DeploymentResponse).dump(latest) if latest else None}


@bp.post("/deployments")
@token_required
def deploy() -> Any:
    """Validate and deploy BPMN/DMN files; 422 naming the element when one fails."""
    user = current_user()
    if not user.in_group("designer", "admin"):
        raise PermissionDeniedError("only designers and administrators deploy")
    body = _body(DeployRequest)
    county = designer.deploy_target(user, body["county"])
    if county is None:
        deployment = processes.deploy(body["files"], author=user.username,
                                      comment=body["comment"])
    else:
        deployment = processes.deploy_for_county(county, body["files"], author=user.username,
                                                 comment=body["comment"])
    return _schema(DeploymentResponse).dump(deployment), 201


@bp.post("/cases")
@token_required
def start_case() -> Any:
    """Start a case; 422 when the application form is not valid."""
    body = _body(StartCaseRequest)
    case = cases.start_case(current_user(), body["process_id"], body["data"],
                            deployment_number=body["deployment"])
    return _schema(CaseResponse).dump(case), 201


@bp.get("/cases/<case_id>")
@token_required
def show_case(case_id: str) -> Any:
    """A case with its data, tasks and full history; 403/404 as the case allows."""
    case = cases.get_case(current_user(), case_id)
    body = _schema(CaseResponse).dump(case)
    body["data"] = case_state.case_data(case)
    body["tasks"] = _schema(WorkItemResponse, many=True).dump(cases.case_work_items(case))
    body["history"] = _schema(EventResponse, many=True).dump(cases.case_history(case))
    return body


@bp.post("/cases/<case_id>/terminate")
@token_required
def terminate_case(case_id: str) -> Any:
    """Propose terminating a running case (终止): the responsible leader decides on the case
    page; 403/409/422 as the service refuses."""
    body = _body(TerminateCaseRequest)
    termination.propose_termination(current_user(), case_id, body["reason_code"],
                                    body["reason"])
    return _schema(CaseResponse).dump(cases.get_case(current_user(), case_id)), 202


@bp.get("/tasks")
@token_required
def list_tasks() -> Any:
    query = _schema(TaskQuery).load(request.args.to_dict())
    page = tasks.list_tasks(current_user(), tasks.TaskFilter(**query))
    return _schema(TaskPageResponse).dump(page)


@bp.get("/tasks/<task_id>")
@token_required
def show_task(task_id: str) -> Any:
    item = tasks.get_work_item(current_user(), task_id)
    body = _schema(TaskDetailResponse).dump(item)
    form = tasks.form_for(item)
    body["form"] = None if form is None else {
        "id": form.id, "title": form.title, "components": form.components,
        "fields": [{"key": f.key, "type": f.type, "label": f.label, "label_en": f.label_en,
                    "required": f.required, "options": [list(o) for o in f.options]}
                   for f in form.fields]}
    return body


@bp.post("/tasks/<task_id>/complete")
@token_required
def complete_task(task_id: str) -> Any:
    """Complete a task; 403 not yours, 409 already done, 422 form errors by field."""
    body = _body(CompleteTaskRequest)
    item = tasks.complete_task(current_user(), task_id, body["data"])
    return _schema(WorkItemResponse).dump(item)


@bp.post("/tasks/<task_id>/claim")
@token_required
def claim_task(task_id: str) -> Any:
    return _schema(WorkItemResponse).dump(tasks.claim_task(current_user(), task_id))


@bp.post("/tasks/<task_id>/release")
@token_required
def release_task(task_id: str) -> Any:
    return _schema(WorkItemResponse).dump(tasks.claim_task(current_user(), task_id, release=True))


@bp.post("/tasks/<task_id>/reassign")
@token_required
def reassign_task(task_id: str) -> Any:
    """Hand an open task to a member of its groups, or back to the groups (转办).

    403 not a leader or administrator, 409 no longer open, 422 no reason or an ineligible user.
    """
    body = _body(ReassignTaskRequest)
    item = tasks.reassign_task(current_user(), task_id, to_username=body["to"],
                               reason=body["reason"])
    return _schema(WorkItemResponse).dump(item)
