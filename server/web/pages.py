"""Shared bits of the HTML pages: the error page, template filters, the navigation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, render_template
from flask_login import current_user

from server.rules.workdays import SHANGHAI
from server.services.dashboard import VIEWERS
from server.web.i18n import t
from server.web.params import typed
from server.web.words import init_words

# The browser's error pages say in words what happened and what to do; the API keeps its
# problem documents (server/web/errors.py). Werkzeug's and the services' English details are
# for the API and the log, not for a county official's screen.
_ERRORS: dict[int, tuple[str, str]] = {
    403: ("无权访问", "您没有查看此页面的权限；如需办理，请联系投资促进局或系统管理员。"),
    404: ("未找到", "您要找的页面或记录不存在，可能已被删除或链接有误。"),
    405: ("无法执行此操作", "此页面不接受这种请求，请从页面上的按钮重新操作。"),
    500: ("出错了", "系统内部出错，您的操作未完成；请稍后重试，若仍不行请联系系统管理员。"),
}


def error_page(status: int, title: str, detail: str) -> Any:
    if status in _ERRORS:
        title, detail = _ERRORS[status]
    return render_template("error.html", status=status, title=t(title), detail=t(detail)), status


def _local(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """2026-11-23 09:30 in China time, for datetimes and ISO texts alike (never a raw ``T``)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime(fmt)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _num(value: Any) -> Any:
    """120000.0 → 120000 (amounts come back from JSON as floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _nav() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"nav_user": None}
    user = current_user.user
    codes = user.group_codes
    return {
        "nav_user": user,
        "nav_is_enterprise": "enterprise" in codes,
        "nav_is_admin": "admin" in codes,
        "nav_is_staff": bool(codes - {"enterprise"}),
        "nav_is_viewer": bool(codes & VIEWERS),
        # A prefecture department (issue 21): the items counties hand up to it.
        "nav_handups": user.county is None and any(c.startswith("pref_") for c in codes),
    }


def init_pages(app: Flask) -> None:
    app.jinja_env.filters["local"] = _local
    app.jinja_env.filters["filesize"] = _size
    app.jinja_env.filters["num"] = _num
    app.jinja_env.filters["combine"] = lambda d, **kw: {**d, **kw}
    app.jinja_env.globals["typed"] = typed  # a refused form filled again with what was sent
    app.context_processor(_nav)
    init_words(app)
    # The shared error handlers (server/web/errors.py) call this for browser requests.
    app.extensions["guanjia.html_error_handler"] = error_page
