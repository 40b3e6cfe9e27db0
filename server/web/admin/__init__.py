"""Administration of users, groups, departments and enterprises."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from server.web.admin import routes  # noqa: E402,F401
