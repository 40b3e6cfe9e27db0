"""Arrows point down: no import from a lower layer to a higher one, and no cycle of packages.

Layers, lowest first (a module may import its own layer's and lower layers' modules):

0. ``server.extensions`` — the unbound extensions
1. ``server.config``, ``server.rules``, ``server.models``, ``server.engine``, ``server.ledger``
   — settings and the core (the settings check the audit key with the ledger's signing)
2. ``server.services`` — use cases, each owning its transaction
3. ``server.web``, ``server.schemas``, ``workers`` — the ways in
4. ``server`` (``create_app``), ``server.assembly`` — the app put together
5. ``server.cli*``, ``workers.main`` — entry points that build an app with the factory

Every import counts, including those inside functions: an arrow hidden in a function is still
an arrow. Read with :mod:`ast`, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache, lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS: dict[str, int] = {
    "server.extensions": 0,
    "server.config": 1, "server.rules": 1, "server.models": 1, "server.engine": 1,
    "server.ledger": 1,
    "server.services": 2,
    "server.web": 3, "server.schemas": 3, "workers": 3,
    "server": 4, "server.assembly": 4,
    "server.cli": 5, "server.cli_audit": 5, "server.cli_calendar": 5, "server.cli_designer": 5,
    "workers.main": 5,
}
#: Where the rules say a package ends (``server.migrations`` is Alembic's, run on its own).
SKIPPED = ("server.migrations",)
#: Arrows that are allowed against the layer order, each with its reason. Keep it short.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def package_of(module: str) -> str | None:
    """The layered package a module belongs to (its longest known prefix)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in LAYERS:
            return name
    return None


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    found = {}
    for top in ("server", "workers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            name = ".".join(relative.parts).removesuffix(".__init__")
            if not name.startswith(SKIPPED):
                found[name] = path
    return found


@cache
def imports_of(name: str, path: Path) -> frozenset[str]:
    """Every module ``name`` imports (absolute and relative, at any depth of the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from server import create_app`` names a module of the package or a name in it.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return frozenset(f for f in found if f.split(".")[0] in ("server", "workers"))


@lru_cache(maxsize=4)
def _packages(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1))


def resolve(imported: str, known: dict[str, Path]) -> str | None:
    """The module or package an import names (``server.engine`` is a package without an
    ``__init__``); a name imported from a module resolves to the module."""
    packages = _packages(tuple(known))
    for candidate in (imported, imported.rpartition(".")[0]):
        if candidate in known or candidate in packages:
            return candidate
    return None


@lru_cache(maxsize=1)
def package_arrows() -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> the modules' imports that draw it."""
    known = modules()
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, path in known.items():
        source = package_of(name)
        if source is None:
            continue
        for imported in imports_of(name, path):
            target = resolve(imported, known)
            if target is None:
                continue
            destination = package_of(target)
            if destination is not None and destination != source:
                arrows[(source, destination)].append(f"{name} -> {target}")
    return arrows


def test_every_package_has_a_layer() -> None:
    unplaced = sorted(name for name in modules() if package_of(name) is None)
    assert unplaced == []


def test_no_import_points_up_a_layer() -> None:
    upward = {pair: sorted(set(lines)) for pair, lines in package_arrows().items()
              if LAYERS[pair[0]] < LAYERS[pair[1]] and pair not in EXCEPTIONS}
    assert upward == {}


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, destination in package_arrows():
        graph[source].add(destination)
    cycles = []
    for start in sorted(graph):
        # A path back to ``start``: depth-first over the package graph.
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def service_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that reach one another through imports (a cycle), sorted."""
    found: list[list[str]] = []
    reach: dict[str, set[str]] = {}
    for start in edges:
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
        reach[start] = seen
    for start in sorted(edges):
        group = sorted(n for n in reach[start] if start in reach[n])
        if group and group not in found:
            found.append(group)
    return found


def test_no_cycle_between_the_services_modules() -> None:
    """Inside ``server.services`` too: no module reaches itself through imports, directly
    (two modules importing each other) or round a longer loop, even inside a function: the
    arrow is there all the same."""
    known = modules()
    services = {n: p for n, p in known.items() if n.startswith("server.services.")}
    edges = {n: {resolve(t, known) for t in imports_of(n, p)} & set(services) - {n}
             for n, p in services.items()}
    assert service_cycles(edges) == []


def test_the_cycle_check_sees_a_loop_of_three() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert service_cycles(edges) == [["a", "b", "c"]]


def test_workers_reach_the_engine_only_through_services() -> None:
    arrows = package_arrows()
    assert arrows.get(("workers", "server.engine"), []) == []
    # Nor do services send work through the workers package that imports them.
    assert arrows.get(("server.services", "workers"), []) == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The check itself can fail: an engine module importing a service is caught."""
    module = tmp_path / "runtime.py"
    module.write_text("def f():\n    from server.services import store\n", encoding="utf-8")
    found = imports_of("server.engine.runtime", module)
    assert "server.services.store" in found
    assert LAYERS[package_of("server.engine.runtime") or ""] < \
        LAYERS[package_of("server.services.store") or ""]
