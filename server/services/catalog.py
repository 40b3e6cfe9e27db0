"""The county's item catalog of this app: read once at start-up, looked up by the services.

``GUANJIA_CATALOG_FILE`` names a county's own catalog CSV (default: the shipped example,
``server/data/catalog.csv``); an invalid file stops the start with located errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import current_app

from server.rules.catalog import Catalog, UnknownCatalogItemError, parse_catalog
from server.rules.staging import stage_items
from server.services.errors import ValidationFailedError

EXTENSION = "guanjia.catalog"


def load_catalog(path: Path | None) -> Catalog:
    """The catalog at ``path`` or the shipped one; raises ``CatalogError`` (located)."""
    if path is None:
        return Catalog.default()
    return parse_catalog(path.read_text("utf-8"))


def current_catalog() -> Catalog:
    """The catalog this app runs with."""
    catalog: Catalog | None = current_app.extensions.get(EXTENSION)
    return catalog if catalog is not None else Catalog.default()


def case_items(codes: Iterable[Any], *, field: str = "item_codes") -> list[dict[str, Any]]:
    """The ``items`` a case runs over for the chosen codes, each with ``waiting_for``.

    Raises ``ValidationFailedError`` naming ``field`` when a code is not in the catalog.
    """
    catalog = current_catalog()
    items = []
    for code in codes:
        try:
            items.append(catalog.get(str(code)).as_case_item())
        except UnknownCatalogItemError as exc:
            raise ValidationFailedError(f"unknown catalog item {code!r}",
                                        {field: [f"事项 {code} 不在事项目录中"]}) from exc
    return stage_items(items)
