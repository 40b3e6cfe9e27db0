"""The HTML views read their query string and form only through ``server/web/params.py``
(marshmallow schemas, like the API): a view or a template that reads ``request.form`` /
``request.args`` / ``request.values`` itself fails here, naming file and line. Views are read
with :mod:`ast`, templates line by line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "server" / "web"
READS = {"form", "args", "values"}
#: Modules allowed to read the request's parameters themselves, each with its reason.
ALLOWED: dict[str, str] = {
    "params.py": "the one loader every view goes through",
    "api/routes.py": "the JSON API loads its query with its own schema (server/schemas/api.py) "
                     "and refuses unknown parameters with a problem document",
    "jsonguard.py": "refuses a NUL in any parameter before a view runs (no parsing)",
    "session.py": "keeps a task form's fields across a sign-in expiry (task forms are "
                  "validated by their .form definition, not by a schema)",
}


def _request_names(tree: ast.Module) -> set[str]:
    """Local names bound to ``flask.request`` (``from flask import request as r`` too)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            names |= {a.asname or a.name for a in node.names if a.name == "request"}
    return names


def direct_reads(source: str) -> list[tuple[int, str]]:
    """(line, expression) of every direct read of the request's form, query or values."""
    tree = ast.parse(source)
    names = _request_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or node.attr not in READS:
            continue
        target = node.value
        if isinstance(target, ast.Name) and target.id in names:
            found.append((node.lineno, f"{target.id}.{node.attr}"))
        elif (isinstance(target, ast.Attribute) and target.attr == "request"
              and isinstance(target.value, ast.Name) and target.value.id == "flask"):
            found.append((node.lineno, f"flask.request.{node.attr}"))
    return sorted(found)


def test_views_read_parameters_only_through_schemas() -> None:
    offenders = []
    for path in sorted(WEB.rglob("*.py")):
        relative = path.relative_to(WEB).as_posix()
        if relative in ALLOWED or relative.startswith("static/"):
            continue
        for line, expression in direct_reads(path.read_text(encoding="utf-8")):
            offenders.append(f"server/web/{relative}:{line}: {expression}")
    assert not offenders, ("load request parameters with a schema via server.web.params, "
                           "not by hand:\n" + "\n".join(offenders))


def test_templates_fill_forms_from_what_the_view_hands_them() -> None:
    """A template shows what was typed through ``typed()`` and the view's own values, never
    by reading the request's parameters itself."""
    pattern = re.compile(r"\brequest\.(form|args|values)\b")
    offenders = [f"{path.relative_to(WEB).as_posix()}:{n}: {line.strip()[:80]}"
                 for path in sorted((WEB / "templates").rglob("*.html"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_a_direct_read() -> None:
    """The checker itself: each way of reading by hand is found, a schema load is not."""
    source = (
        "import flask\n"
        "from flask import request\n"
        "from flask import request as req\n"
        "a = request.form.get('x')\n"
        "b = req.args.getlist('y')\n"
        "c = flask.request.values\n"
        "d = params.query(Schema)\n"
    )
    assert direct_reads(source) == [(4, "request.form"), (5, "req.args"),
                                     (6, "flask.request.values")]


def test_every_allowed_module_exists() -> None:
    """An exemption for a module that is gone would silently cover a new one of that name."""
    assert all((WEB / name).is_file() for name in ALLOWED)
