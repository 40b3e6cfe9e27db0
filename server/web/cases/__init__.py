"""Case list and case page: diagram with state markers, timeline, items, documents."""

from flask import Blueprint

bp = Blueprint("cases", __name__)

from server.web.cases import routes, service_routes  # noqa: E402,F401
