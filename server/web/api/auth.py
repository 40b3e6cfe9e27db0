"""Bearer-token authentication for API views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from server.models import User
from server.services.errors import AuthenticationError
from server.services.users import user_for_token

F = TypeVar("F", bound=Callable[..., Any])


def token_required(view: F) -> F:
    """Resolve ``Authorization: Bearer …`` to ``g.user``; raises ``AuthenticationError``."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError(
                "send Authorization: Bearer <token> (POST /api/v1/auth/token)")
        g.user = user_for_token(token.strip())
        return view(*args, **kwargs)

    return cast(F, wrapped)


def current_user() -> User:
    user: User = g.user
    return user
