"""Administration of users, groups, departments, enterprises and the working-day calendar."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from server.web.admin import calendar, catalog, routes  # noqa: E402,F401
