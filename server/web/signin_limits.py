"""Limits on signing in (the login page and ``POST /api/v1/auth/token``), with Flask-Limiter.

Two limits, shared by both doors: wrong passwords for one user name (only failures count;
past the limit the name is locked for a while, right password or not), and attempts from
one address. A refusal is a 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, request

from server.extensions import limiter
from server.schemas.views import SignInName
from server.web import params

F = TypeVar("F", bound=Callable[..., Any])


def attempted_name() -> str:
    """The user name a sign-in names (form or JSON), normalised; the lock is per name."""
    name: Any = params.posted(SignInName).get("username")
    if name is None:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    text = str(name).strip().lower()[:80] if name else ""
    return f"name:{text or '-'}"


def _failures_per_name() -> str:
    settings = current_app.config["GUANJIA"]
    return f"{settings.login_max_failures} per {settings.login_lock_minutes} minutes"


def _attempts_per_address() -> str:
    return str(current_app.config["GUANJIA"].login_rate)


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _not_a_post() -> bool:
    return request.method != "POST"


def sign_in_limited(view: F) -> F:
    """Put both sign-in limits on a view (its GET, showing the form, is never limited)."""
    limited = limiter.shared_limit(_failures_per_name, scope="sign-in-name",
                                   key_func=attempted_name, deduct_when=_failed,
                                   exempt_when=_not_a_post)(view)
    limited = limiter.shared_limit(_attempts_per_address, scope="sign-in-address",
                                   exempt_when=_not_a_post)(limited)
    return cast(F, limited)
