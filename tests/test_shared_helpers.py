"""Shared test helpers live in tests/helpers/ or in fixtures, never in another test module:
importing from a test module runs its tests' module code and ties two test files together."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imports_of_test_modules(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                 else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        found += [n for n in names
                  if n.startswith("tests.") and n.rsplit(".", 1)[-1].startswith("test_")]
    return found


def test_no_test_module_imports_another() -> None:
    offenders = {str(path.relative_to(TESTS)): found for path in sorted(TESTS.rglob("*.py"))
                 if (found := imports_of_test_modules(path.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_the_check_sees_both_import_forms() -> None:
    assert imports_of_test_modules("from tests.web.test_x import a\nimport tests.test_y\n"
                                   "from tests.helpers.pdf import squeeze\n") == [
        "tests.web.test_x", "tests.test_y"]
