"""One place that turns errors into responses: RFC 9457 problem details for the API."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, make_response, request
from marshmallow import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from server.services.errors import ServiceError


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.path}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == \
        "application/json"


def register_error_handlers(app: Flask) -> None:
    html_handler = app.extensions.get("guanjia.html_error_handler")

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Any:
        if not _wants_json() and html_handler is not None:
            return html_handler(exc.status, exc.title, exc.detail)
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.errorhandler(ValidationError)
    def _schema_error(exc: ValidationError) -> Any:
        return problem(422, "Validation failed", "the request body does not fit its schema",
                       errors=exc.messages)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(exc: Exception) -> Any:
        # The database is down, restarting or busy: the request may succeed later.
        app.logger.warning("database unavailable: %s", exc)
        if not _wants_json() and html_handler is not None:
            response = html_handler(503, "数据库暂不可用 Database unavailable",
                                    "请稍后再试 / please try again shortly")
        else:
            response = problem(503, "Service Unavailable",
                               "the database is not reachable right now; try again shortly")

        response = make_response(response)
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not _wants_json() and html_handler is not None:
            return html_handler(exc.code or 500, exc.name, exc.description or "")
        if not _wants_json():
            return exc
        return problem(exc.code or 500, exc.name, exc.description or "")
