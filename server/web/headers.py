"""Security headers on every response, and the nonce that lets the pages' own scripts run.

The Content-Security-Policy allows scripts only from this site or carrying this response's
nonce: an injected ``<script>`` or ``onclick=`` does nothing. Styles may be inline (the BPMN
and form editors set them); no page may be framed by another site.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

_CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'")

_CSP_NO_NONCE = _CSP.replace(" 'nonce-{nonce}'", "")

_FIXED = tuple((name.lower(), name, value) for name, value in (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
))


def csp_nonce() -> str:
    """This response's script nonce (templates: ``<script nonce="{{ csp_nonce() }}">``)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def init_security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        # A view may have set its own; the names present are read once (issue 18: four
        # ``setdefault`` calls each searched the headers twice, on every response).
        present = {name.lower() for name, _ in headers}
        if "content-security-policy" not in present:
            # A response that runs none of its own scripts (JSON, most pages) needs no nonce.
            headers.add("Content-Security-Policy", _CSP.format(nonce=g.csp_nonce)
                        if "csp_nonce" in g else _CSP_NO_NONCE)
        for lower, name, value in _FIXED:
            if lower not in present:
                headers.add(name, value)
        return response
