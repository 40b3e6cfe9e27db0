"""A migration's own module, loaded from its file (its helpers and SQL are tried directly)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).resolve().parents[2] / "server" / "migrations" / "versions"


def migration_module(filename: str) -> ModuleType:
    """The migration ``server/migrations/versions/<filename>`` as a module."""
    spec = importlib.util.spec_from_file_location(f"migration_{Path(filename).stem}",
                                                  VERSIONS / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
