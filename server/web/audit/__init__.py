"""Audit pages: replay a case step by step, re-execute it, verify the log, export, 一事一档.

Every view is read-only (GET) and open to auditors (and administrators); an auditor's opening
of a case is itself written to that case's history.
"""

from flask import Blueprint, Flask

bp = Blueprint("audit", __name__, template_folder="templates")


def register_audit(app: Flask) -> None:
    """Mount the audit pages under ``/audit`` (``register_web`` calls this)."""
    app.register_blueprint(bp, url_prefix="/audit")


from server.web.audit import routes  # noqa: E402,F401
