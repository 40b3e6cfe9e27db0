"""Shared bits of the HTML pages: the error page, template filters, the navigation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, render_template
from flask_login import current_user

from server.rules.workdays import SHANGHAI
from server.services.dashboard import VIEWERS
from server.web.i18n import t

#: No list has this many pages; a larger number in ``?page=`` would overflow the database's
#: integer in OFFSET (a 500 before).
MAX_PAGE = 100_000


def error_page(status: int, title: str, detail: str) -> Any:
    titles = {403: "无权访问", 404: "未找到"}
    return render_template("error.html", status=status,
                           title=t(titles.get(status, title)), detail=detail), status


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
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
    }


def init_pages(app: Flask) -> None:
    app.jinja_env.filters["local"] = _local
    app.jinja_env.filters["filesize"] = _size
    app.jinja_env.filters["num"] = _num
    app.jinja_env.filters["combine"] = lambda d, **kw: {**d, **kw}
    app.context_processor(_nav)
    # The shared error handlers (server/web/errors.py) call this for browser requests.
    app.extensions["guanjia.html_error_handler"] = error_page
