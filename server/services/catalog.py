"""The item catalogs of this installation: the prefecture's, and each county's own.

``GUANJIA_CATALOG_FILE`` names the prefecture's (州/市) catalog CSV (default: the shipped
example, ``server/data/catalog.csv``), read once at start-up; an invalid file stops the start
with located errors. A county may upload its own catalog (``county_catalogs``); a county with
none inherits the prefecture's.

Which catalog applies: a case's county's (its own county, else the installation's default
county: :func:`catalog_for_case`); where no case fixes the county, the user's county's, and
the prefecture's for a user of the prefecture (:func:`catalog_for_user`).

Every process keeps each county's parsed catalog by revision. It looks at the revisions (one
small ``SELECT`` of ``county_catalogs``) at most once a minute, as the county calendar does
(:mod:`server.services.calendar`), and at once after it changed a catalog itself; so a page
costs no query for the catalog, and another process picks a new catalog up within a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import Case, County, CountyCatalog, User
from server.rules.catalog import Catalog, CatalogError, UnknownCatalogItemError, parse_catalog
from server.rules.staging import stage_items
from server.services.audit import record_event
from server.services.calendar import case_county, default_county
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError

EXTENSION = "guanjia.catalog"
COUNTIES = "guanjia.county_catalogs"
RECHECK_SECONDS = 60.0
#: At most this much CSV is stored for a county (the shipped catalog is about 20 KB).
MAX_CSV_BYTES = 1_000_000


def load_catalog(path: Path | None) -> Catalog:
    """The catalog at ``path`` or the shipped one; raises ``CatalogError`` (located)."""
    if path is None:
        return Catalog.default()
    return parse_catalog(path.read_text("utf-8"))


def prefecture_catalog() -> Catalog:
    """The prefecture's catalog (the file), which every county without its own inherits."""
    catalog: Catalog | None = current_app.extensions.get(EXTENSION) if has_app_context() \
        else None
    return catalog if catalog is not None else Catalog.default()


# ---- the counties' own catalogs, kept per revision --------------------------------------------
@dataclass
class _Kept:
    """What this app's process knows of the counties' catalogs."""

    revisions: dict[str, int] = field(default_factory=dict)  # county → revision with a CSV
    checked: float | None = None  # time.monotonic() of the last look; None: look now
    parsed: dict[tuple[str, int], Catalog] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)
    table_seen: bool = False


def _kept() -> _Kept:
    kept: _Kept | None = current_app.extensions.get(COUNTIES)
    if kept is None:
        kept = current_app.extensions.setdefault(COUNTIES, _Kept())
    return kept


def _revisions(kept: _Kept, *, refresh: bool = False) -> dict[str, int]:
    now = time.monotonic()
    if not refresh and kept.checked is not None and now - kept.checked < RECHECK_SECONDS:
        return kept.revisions
    # The session's own connection (on SQLite a second one would wait for the step's lock).
    connection = db.session.connection()
    if not kept.table_seen:
        # Before migrations ran (a tool, the first start) there is no table: no county has
        # its own catalog. Asked without an error, so no PostgreSQL transaction is aborted.
        if not sa.inspect(connection).has_table(CountyCatalog.__tablename__):
            return {}
        kept.table_seen = True
    rows = connection.execute(select(CountyCatalog.county, CountyCatalog.revision)
                              .where(CountyCatalog.csv_text.is_not(None)))
    revisions = {county: int(revision) for county, revision in rows}
    with kept.guard:
        kept.revisions = revisions
        kept.checked = now
    return revisions


def forget_catalogs() -> None:
    """Look at the counties' catalogs again at the next use (after this process changed one)."""
    if has_app_context():
        _kept().checked = None


def current_catalog(county: str | None = None, *, refresh: bool = False) -> Catalog:
    """The catalog of ``county``: its own, else the prefecture's (also for None: the
    prefecture, and outside an application context).

    ``refresh``: look at the revisions now, not within the minute (a case being filed or
    planned takes a catalog another process saved a moment ago; one small query)."""
    if county is None or not has_app_context():
        return prefecture_catalog()
    kept = _kept()
    revision = _revisions(kept, refresh=refresh).get(county)
    if revision is None:
        return prefecture_catalog()
    catalog = kept.parsed.get((county, revision))
    if catalog is None:
        catalog = _parse_stored(kept, county)
    return catalog


def _parse_stored(kept: _Kept, county: str) -> Catalog:
    """Read and parse the county's stored catalog, kept by the revision read with it (it may
    be newer than the last look: then the look is brought up to it)."""
    row = db.session.connection().execute(
        select(CountyCatalog.csv_text, CountyCatalog.revision)
        .where(CountyCatalog.county == county)).one_or_none()
    if row is None or row.csv_text is None:  # gone back to the prefecture's since the look
        with kept.guard:
            kept.revisions = {c: r for c, r in kept.revisions.items() if c != county}
        return prefecture_catalog()
    catalog = parse_catalog(row.csv_text, prefecture_catalog().departments)
    with kept.guard:
        # Only the newest revision of each county is kept.
        kept.parsed = {key: value for key, value in kept.parsed.items() if key[0] != county}
        kept.parsed[(county, int(row.revision))] = catalog
        kept.revisions = {**kept.revisions, county: int(row.revision)}
    return catalog


def catalog_for_case(case: Case, *, refresh: bool = False) -> Catalog:
    """The catalog a case runs with: its county's (its own, else the default county's)."""
    return current_catalog(case_county(case), refresh=refresh)


def catalog_for_user(user: User | None) -> Catalog:
    """The catalog a user works with where no case fixes the county: the user's county's;
    the prefecture's for a user of the prefecture (or no user)."""
    return current_catalog(user.county if user is not None else None)


def filing_catalog(user: User) -> Catalog:
    """The catalog the application form offers ``user``: of the county the case will belong
    to (the user's, else the installation's default county, as ``tenancy.filing_county``)."""
    return current_catalog(user.county or default_county())


def case_items(codes: Iterable[Any], *, field: str = "item_codes",
               catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """The ``items`` a case runs over for the chosen codes, each with ``waiting_for``, from
    ``catalog`` (the case's county's; the prefecture's when not given).

    Raises ``ValidationFailedError`` naming ``field`` when a code is not in the catalog.
    """
    catalog = catalog if catalog is not None else current_catalog()
    items = []
    for code in codes:
        try:
            items.append(catalog.get(str(code)).as_case_item())
        except UnknownCatalogItemError as exc:
            raise ValidationFailedError(f"unknown catalog item {code!r}",
                                        {field: [f"事项 {code} 不在事项目录中"]}) from exc
    return stage_items(items)


# ---- the county administrator's page ------------------------------------------------------
@dataclass(frozen=True)
class CountyCatalogState:
    """What the page shows of one county's catalog."""

    code: str
    name: str
    own: bool  # True: 本县事项目录; False: 继承州（市）目录
    items: int
    revision: int  # 0: never changed
    updated_by: str
    updated_at: datetime | None


def _may_change(user: User, county: str) -> bool:
    return user.in_group("admin") and user.county in (None, county)


def require_catalog_admin(user: User, county: str) -> County:
    """The county whose catalog ``user`` may change. Raises PermissionDeniedError unless the
    user is an administrator of that county or of the prefecture, NotFoundError for an
    unknown county (or one outside the user's county)."""
    if not user.in_group("admin"):
        raise PermissionDeniedError("only administrators keep item catalogs")
    row = db.session.get(County, county) if county else None
    if row is None:
        raise NotFoundError(f"county {county!r} does not exist")
    if not _may_change(user, county):
        raise PermissionDeniedError(
            f"an administrator of {user.county} cannot change {county}'s catalog")
    return row


def catalog_states(user: User) -> list[CountyCatalogState]:
    """Each county the administrator keeps (their own; every county for the prefecture's),
    with whether it has its own catalog."""
    query = select(County).order_by(County.is_default.desc(), County.code)
    if user.county is not None:
        query = query.where(County.code == user.county)
    rows = list(db.session.execute(query).scalars())
    stored = {c.county: c for c in db.session.execute(select(CountyCatalog).where(
        CountyCatalog.county.in_([r.code for r in rows]))).scalars()}
    inherited = len(prefecture_catalog())
    out = []
    for row in rows:
        own = stored.get(row.code)
        out.append(CountyCatalogState(
            row.code, row.name, own is not None and own.csv_text is not None,
            own.items if own is not None and own.csv_text is not None else inherited,
            own.revision if own is not None else 0,
            own.updated_by if own is not None else "",
            own.updated_at if own is not None else None))
    return out


def catalog_csv(user: User, county: str | None) -> tuple[str, bool]:
    """The CSV a county runs with (its own, else the prefecture's file) and whether it is
    the county's own. Raises as :func:`require_catalog_admin` (reading included: the page is
    the administrators')."""
    if county:
        require_catalog_admin(user, county)
        own = db.session.get(CountyCatalog, county)
        if own is not None and own.csv_text is not None:
            return own.csv_text, True
    elif not user.in_group("admin"):
        raise PermissionDeniedError("only administrators keep item catalogs")
    settings = current_app.config["GUANJIA"]
    path = settings.catalog_file or Path(__file__).resolve().parents[1] / "data" / "catalog.csv"
    return path.read_text("utf-8"), False


def check_csv(text: str) -> Catalog:
    """The catalog a CSV stands for; raises ValidationFailedError with every bad line
    (``extra["line"]``: the first) and nothing is stored."""
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise ValidationFailedError("the catalog is too large",
                                    {"catalog": [f"最多 {MAX_CSV_BYTES // 1000} KB"]})
    if not text.strip():
        raise ValidationFailedError("the catalog is empty", {"catalog": ["目录为空 / empty"]})
    try:
        catalog = parse_catalog(text.lstrip("\ufeff"), prefecture_catalog().departments)
    except CatalogError as exc:
        error = ValidationFailedError(
            f"the catalog cannot be read: {exc}",
            {"catalog": [f"line {line}: {message}" for line, message in exc.problems]})
        error.extra["line"] = exc.problems[0][0] if exc.problems else None
        error.extra["problems"] = exc.problems
        raise error from None
    if not len(catalog):
        raise ValidationFailedError("the catalog lists no item",
                                    {"catalog": ["目录中没有事项 / no item"]})
    return catalog


def save_county_catalog(user: User, county: str, text: str | None) -> CountyCatalog:
    """Give ``county`` its own catalog (``text``: the CSV) or, with None, let it inherit the
    prefecture's again; audited ``county_catalog_saved`` in the same transaction. Raises
    PermissionDeniedError / NotFoundError (see :func:`require_catalog_admin`) and
    ValidationFailedError (located) for a CSV that does not parse: nothing is stored then."""
    require_catalog_admin(user, county)
    catalog = check_csv(text) if text is not None else None
    stored = text.lstrip("\ufeff") if text is not None else None
    row = db.session.get(CountyCatalog, county)
    was_own = row is not None and row.csv_text is not None
    if row is None:
        row = CountyCatalog(county=county, revision=0)
        db.session.add(row)
    old = {item.code: item for item in current_catalog(county)}
    row.csv_text = stored
    row.items = len(catalog) if catalog is not None else 0
    row.revision = (row.revision or 0) + 1
    row.updated_by = user.username
    row.updated_at = clock.now()
    new = {item.code: item for item in (catalog if catalog is not None
                                        else prefecture_catalog())}
    record_event(None, "county_catalog_saved", actor=user.username, at=row.updated_at,
                 payload={"county": county, "revision": row.revision,
                          "own": catalog is not None, "was_own": was_own,
                          "items": len(new), "added": sorted(set(new) - set(old)),
                          "dropped": sorted(set(old) - set(new)),
                          "changed": sorted(c for c in set(new) & set(old)
                                            if new[c] != old[c])})
    db.session.commit()
    forget_catalogs()
    return row
