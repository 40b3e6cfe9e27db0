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
    HandupDecisionRequest,
    HandUpRequest,
    HandupResponse,
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
from server.services import (
    case_state,
    cases,
    designer,
    handups,
    processes,
    tasks,
    termination,
    users,
)
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


# ---- 州-level items handed up to the prefecture's departments (issue 21) ---------------------
@bp.post("/tasks/<task_id>/handup")
@token_required
def hand_up(task_id: str) -> Any:
    """Hand a 州-level item up; 403 not the department's, 404, 409 already handed up or
    stopped, 422 not a 州-level item or no opinion."""
    body = _body(HandUpRequest)
    return _schema(HandupResponse).dump(handups.hand_up(current_user(), task_id,
                                                        note=body["note"])), 201


@bp.get("/handups")
@token_required
def list_handups() -> Any:
    """The hand-ups of the user's prefecture departments (a county's staff: its own)."""
    return {"items": _schema(HandupResponse, many=True).dump(
        handups.prefecture_list(current_user()))}


@bp.get("/handups/<int:handup_id>")
@token_required
def show_handup(handup_id: int) -> Any:
    return _schema(HandupResponse).dump(handups.get_handup(current_user(), handup_id))


@bp.post("/handups/<int:handup_id>/accept")
@token_required
def accept_handup(handup_id: int) -> Any:
    """受理 by the prefecture department; 403, 404, 409 already accepted."""
    return _schema(HandupResponse).dump(handups.accept(current_user(), handup_id))


@bp.post("/handups/<int:handup_id>/decide")
@token_required
def decide_handup(handup_id: int) -> Any:
    """The prefecture department's decision; the county's clock runs again. 403, 404, 409,
    422 an approval without its number or a refusal without its reason."""
    body = _body(HandupDecisionRequest)
    return _schema(HandupResponse).dump(handups.decide(
        current_user(), handup_id, decision=body["decision"],
        approval_number=body["approval_number"], reason=body["reason"]))
