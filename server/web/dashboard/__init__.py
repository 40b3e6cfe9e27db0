"""The leaders' dashboard (领导驾驶舱) and the item lists its numbers open."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from server.web.dashboard import routes  # noqa: E402,F401
