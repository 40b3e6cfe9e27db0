"""One place that turns errors into responses: RFC 9457 problem details for the API."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from marshmallow import ValidationError
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

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not _wants_json() and html_handler is not None:
            return html_handler(exc.code or 500, exc.name, exc.description or "")
        if not _wants_json():
            return exc
        return problem(exc.code or 500, exc.name, exc.description or "")
