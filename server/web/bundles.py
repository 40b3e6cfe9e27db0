"""The third-party browser bundles (bpmn-js modeler and viewer, dmn-js, form-js, Chart.js),
served at ``/static/vendor/`` from where ``frontend``'s build puts them, outside ``server/``
(``server.config.shipped_bundles``). Templates link them with ``url_for("vendor.static", …)``."""

from __future__ import annotations

from flask import Blueprint

from server.config import shipped_bundles

#: The endpoint Flask names for these files: like the app's own "static", no session work.
ENDPOINT = "vendor.static"


def bundles_blueprint() -> Blueprint:
    return Blueprint("vendor", __name__, static_folder=str(shipped_bundles()),
                     static_url_path="/static/vendor")
