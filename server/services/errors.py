"""Errors the services raise; the web layer maps each to one HTTP status in one place."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class: a use case refused, and nothing was changed."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFoundError(ServiceError):
    status = 404
    title = "Not found"


class PermissionDeniedError(ServiceError):
    status = 403
    title = "Forbidden"


class ValidationFailedError(ServiceError):
    """Submitted data does not fit the form; ``errors`` maps field → messages."""

    status = 422
    title = "Validation failed"

    def __init__(self, detail: str, errors: dict[str, Any]) -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors


class ConflictError(ServiceError):
    status = 409
    title = "Conflict"


class SettledConflictError(ConflictError):
    """A conflict read under the case's lock (the task is done already): trying the step
    again cannot resolve it, so ``with_retries`` does not."""


class InvalidDiagramError(ServiceError):
    status = 422
    title = "Invalid diagram"


class AuthenticationError(ServiceError):
    status = 401
    title = "Unauthorized"
