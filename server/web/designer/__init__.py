"""The designer area: the process library, the browser modelers, deployment and migration."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("designer", __name__, template_folder="templates")


def register_designer(app: Flask) -> None:
    """Mount the designer area at ``/designer``."""
    from server.web.designer import routes  # noqa: F401, PLC0415  (attaches the views to bp)

    app.register_blueprint(bp, url_prefix="/designer")
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # Every state-changing designer call is a script request carrying the
        # X-Guanjia-Designer header, which a cross-site form cannot send (see routes.py).
        csrf.exempt(bp)
