"""A county's own item catalog (issue 21): the catalog 大姚 uploads in the tests, and the
admin page's upload as a browser sends it."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent
from tests.web.helpers import Web

SHIPPED = Path(__file__).resolve().parents[2] / "server" / "data" / "catalog.csv"
DROPPED = "temporary_land_use"      # 临时用地审批, dept_zrzy, 10 working days
SHORTER = "geohazard_assessment"    # 地质灾害危险性评估, dept_zrzy, 5 → 2 working days


def dayao_csv() -> str:
    """The shipped catalog without ``DROPPED`` and with ``SHORTER`` promised in 2 days."""
    rows = list(csv.DictReader(io.StringIO(SHIPPED.read_text("utf-8"))))
    assert {r["code"] for r in rows} >= {DROPPED, SHORTER}
    assert next(r for r in rows if r["code"] == SHORTER)["promised_days"] == "5"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        if row["code"] == DROPPED:
            continue
        if row["code"] == SHORTER:
            row["promised_days"] = "2"
        writer.writerow(row)
    return out.getvalue()


def upload(web: Web, county: str, text: str, *, action: str = "save") -> Any:
    return web.post("/admin/catalog", {
        "county": county, "action": action,
        "catalog_file": (io.BytesIO(text.encode("utf-8")), "catalog.csv")},
        token_from="/admin/catalog", content_type="multipart/form-data")


def catalog_events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.execute(select(AuditEvent).where(
            AuditEvent.type == "county_catalog_saved").order_by(AuditEvent.seq)).scalars())
        db.session.remove()
    return found


def row_of(page: str, county: str) -> str:
    found = re.search(rf'<tr data-county="{county}"[^>]*>.*?</tr>', page, re.S)
    assert found, page
    return found.group(0)
