"""The JSON API (``/api/v1``): every call authenticated by a bearer token."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from server.web.api import routes  # noqa: E402,F401
