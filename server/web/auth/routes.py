"""Sign-in with username and password (argon2 hashes), sign-out, language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user

from server.schemas.views import NextQuery, PasswordChangeForm, SignInForm
from server.services import users
from server.services.errors import AuthenticationError, ValidationFailedError
from server.web import params
from server.web.auth import bp
from server.web.i18n import LANGUAGES, t
from server.web.session import SESSION_VERSION, SignedIn, me
from server.web.signin_limits import sign_in_limited


def _safe_next(target: str | None) -> str | None:
    # Only paths on this site: never an absolute URL that would send the user elsewhere.
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def home_for(user: Any) -> str:
    if user.group_codes == frozenset({"enterprise"}):
        return url_for("portal.index")
    return url_for("tasklist.tasks_page")


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limited
def login() -> Any:
    """The sign-in page; a wrong password shows the form again with a message (401), too many
    attempts a lock message (429 with ``Retry-After``)."""
    next_url = _safe_next(params.query(NextQuery)["next"])
    if request.method == "POST":
        sent = params.posted(SignInForm)
        try:
            user = users.sign_in(sent["username"].strip(), sent["password"], channel="web",
                                 address=request.remote_addr)
        except AuthenticationError:
            return render_template("auth/login.html", error=t("用户名或密码错误"),
                                   username=sent["username"],
                                   next=next_url), 401
        rescued = session.get("rescued_form")
        lang = session.get("lang")
        session.clear()  # a fresh session on sign-in (no fixation)
        if rescued:
            session["rescued_form"] = rescued
        if lang:
            session["lang"] = lang
        login_user(SignedIn(user))
        session[SESSION_VERSION] = user.session_version
        return redirect(next_url or home_for(user))
    if current_user.is_authenticated:
        return redirect(next_url or home_for(current_user.user))
    return render_template("auth/login.html", error=None, username="", next=next_url)


@bp.post("/logout")
@login_required
def logout() -> Any:
    """Sign out here and on every other device (a copied session cookie stops working)."""
    users.sign_out_everywhere(me())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """The signed-in user's own password change (current password first). A broken rule
    shows the form again naming it (422); success ends every session, this one too, and
    asks for a sign-in with the new password."""
    settings = current_app.config["GUANJIA"]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        sent = params.posted(PasswordChangeForm)
        new = sent["new_password"]
        if new != sent["new_password_again"]:
            errors = {"new_password_again": [t("两次输入的新密码不一致")]}
        else:
            try:
                users.change_own_password(me(), sent["current_password"], new)
            except ValidationFailedError as exc:
                errors = {("new_password" if k == "password" else k): v
                          for k, v in exc.errors.items()}
            else:
                logout_user()
                session.clear()
                flash(t("密码已修改，请用新密码登录"), "success")
                return redirect(url_for("auth.login"))
    return render_template("auth/password.html", errors=errors,
                           min_length=settings.password_min_length,
                           history=settings.password_history), 422 if errors else 200


@bp.errorhandler(RateLimitExceeded)
def _locked(exc: RateLimitExceeded) -> Any:
    minutes = current_app.config["GUANJIA"].login_lock_minutes
    return render_template(
        "auth/login.html", username=params.posted(SignInForm)["username"],
        next=_safe_next(params.query(NextQuery)["next"]),
        error=t("登录尝试过多，请 {minutes} 分钟后再试", minutes=minutes)), 429


@bp.get("/lang/<code>")
def switch_language(code: str) -> Any:
    if code in LANGUAGES:
        session["lang"] = code
    back = request.referrer or ""
    parts = urlsplit(back)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.netloc and parts.netloc != request.host:
        target = "/"
    return redirect(_safe_next(target) or "/")
