"""Sign-in state of the browser workspace: Flask-Login, CSRF, idle expiry, draft rescue.

An expired session must not cost a half-filled form: a form posted without a live session
is kept in the new session and offered again after sign-in. It is only ever shown back to
the user, never saved on their behalf, so a forged post cannot plant data anywhere.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from server.extensions import db
from server.models import User
from server.web.bundles import ENDPOINT as BUNDLES
from server.web.pages import error_page

login_manager = LoginManager()
csrf = CSRFProtect()
IDLE_MINUTES = 120
RESCUE_KEY = "rescued_form"


class SignedIn(UserMixin):
    """The Flask-Login face of a ``User`` (the model stays free of web concerns)."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return str(self.user.id)

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)


def me() -> User:
    """The signed-in user's row (views behind ``login_required`` only)."""
    user: User = current_user.user
    return user


#: The user's ``session_version`` at sign-in; a session from an older version is over.
SESSION_VERSION = "sv"


def _load(user_id: str) -> SignedIn | None:
    """The one way every blueprint learns who is signed in: an active user whose sessions
    have not been ended since this one began (sign-out, deactivation, new password)."""
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.active or session.get(SESSION_VERSION) != user.session_version:
        return None
    return SignedIn(user)


def signed_in_user() -> User | None:
    """The signed-in user of this request, or None (for views that also take tokens)."""
    if current_user.is_authenticated:
        return me()
    return None


def _rescue_posted_form() -> None:
    if request.method == "POST" and request.path.startswith("/tasks/") and request.form:
        data = {k: request.form.getlist(k) for k in request.form if k != "csrf_token"}
        session[RESCUE_KEY] = {"path": request.path, "data": data}


def _unauthorized() -> Any:
    _rescue_posted_form()
    if request.method == "POST":
        flash("登录已过期，请重新登录；您填写的内容已保留。", "warning")
        target = request.path
    else:
        flash("请先登录。", "info")
        target = request.full_path.rstrip("?")
    return redirect(url_for("auth.login", next=target))


def take_rescued(path: str) -> dict[str, list[str]] | None:
    """The form data rescued for ``path`` by an expired session, once."""
    rescued = session.get(RESCUE_KEY)
    if not rescued or rescued.get("path") != path:
        return None
    session.pop(RESCUE_KEY, None)
    data: dict[str, list[str]] = rescued.get("data") or {}
    return data


def _expire_idle(app: Flask) -> None:
    @app.before_request
    def _idle() -> None:
        if request.blueprint == "api" or request.endpoint in ("static", BUNDLES):
            return
        now = time.time()
        limit = 60 * float(app.config.get("WEB_IDLE_MINUTES", IDLE_MINUTES))
        seen = session.get("seen")
        if "_user_id" in session and seen is not None and now - float(seen) > limit:
            logout_user()
            session.pop("seen", None)
            return
        if "_user_id" in session:
            session["seen"] = now


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per key.

    Flask builds it anew on every request, API calls included, that carry no cookie at all
    (issue 18's profile); it holds nothing but the keys and the settings, so one is reused
    for as long as the secret key and its fallbacks stay the same.
    """

    def __init__(self) -> None:
        self._signing: tuple[tuple[Any, ...], Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._signing
        if cached is not None and cached[0] == keys:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        self._signing = (keys, serializer)
        return serializer


def init_session(app: Flask, api_blueprint: Any) -> None:
    app.session_interface = CookieSessions()
    login_manager.init_app(app)
    login_manager.user_loader(_load)
    app.extensions["guanjia.current_user"] = signed_in_user
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.session_protection = "basic"
    # Idle expiry runs before the CSRF check, so an expired session reaches the unauthorized
    # handler (and its draft rescue) rather than failing as a bad token.
    _expire_idle(app)
    csrf.init_app(app)
    csrf.exempt(api_blueprint)

    @app.errorhandler(CSRFError)
    def _csrf_failed(exc: CSRFError) -> Any:
        if not current_user.is_authenticated:
            # The session (and its token) is gone: treat it as an expired sign-in.
            return _unauthorized()

        return error_page(400, "请求已失效", "表单的安全令牌缺失或已过期，请刷新页面后重试。")
