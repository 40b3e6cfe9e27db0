"""The type stubs under ``stubs/`` describe the installed libraries: every name they declare
exists, and every function takes the parameters the stub says. A library upgrade that renames
or reshapes one fails here, not silently in mypy's view of the code."""

from __future__ import annotations

import ast
import importlib
import inspect
from importlib.metadata import version
from pathlib import Path

import pytest

STUBS = Path(__file__).resolve().parents[1] / "stubs"
#: The version each stub was written against (its comment says so too).
WRITTEN_FOR = {"flask_login": ("Flask-Login", "0.6.3")}


def _parameters(node: ast.FunctionDef) -> list[str]:
    args = node.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _declared(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.append((node.name, node))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.append((node.target.id, node))
    return [(name, node) for name, node in found if not name.startswith("_")]


@pytest.mark.parametrize("module", sorted(WRITTEN_FOR))
def test_a_stub_matches_the_installed_library(module: str) -> None:
    distribution, written_for = WRITTEN_FOR[module]
    assert version(distribution) == written_for  # an upgrade rechecks the stub first
    real = importlib.import_module(module)
    tree = ast.parse((STUBS / module / "__init__.pyi").read_text(encoding="utf-8"))
    declared = _declared(tree)
    assert declared
    for name, node in declared:
        assert hasattr(real, name), f"{module}.{name} is gone"
        target = getattr(real, name)
        if isinstance(node, ast.FunctionDef):
            assert _parameters(node) == list(inspect.signature(target).parameters), name
        elif isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef):
                    assert hasattr(target, member.name), f"{name}.{member.name} is gone"
                    attribute = inspect.getattr_static(target, member.name)
                    if not isinstance(attribute, property):
                        assert _parameters(member) == list(
                            inspect.signature(attribute).parameters), f"{name}.{member.name}"
                elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name) \
                        and not member.target.id.startswith("__"):
                    # Instance attributes are set in __init__: read them off a fresh object.
                    assert member.target.id in vars(target()), f"{name}.{member.target.id}"
