"""Before and after the approval file: the project reserve (项目储备库), filing for an
enterprise (代企业申报), after-care milestones and the half-yearly land review (土地清理)."""

from flask import Blueprint

bp = Blueprint("reserve", __name__)

from server.web.reserve import routes  # noqa: E402,F401
