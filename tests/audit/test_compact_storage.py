"""Smaller audit rows and a cheaper seal (issue 18) lose nothing: events written the old way
(hex text, JSON with spaces and escapes) still verify, and the seal, which now reads only
each event's number, leaf and MAC, still refuses to sign a leaf forged behind the app's back."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
import sqlalchemy as sa

from server.engine.clock import FrozenClock
from server.extensions import db
from server.ledger import merkle
from server.ledger.canonical import canonical_event_bytes, leaf_hash
from server.models import AuditEvent
from server.models.types import HexDigest
from server.services.ledger import events_of, ledger_record, seal_cases, verify
from tests.audit.walk import walk_case
from tests.conftest import Api
from tests.helpers.migrations import migration_module
from tests.helpers.tamper import completed_review, tampering

# Rows are rewritten on a connection of their own: the walk's rows must be committed.
pytestmark = pytest.mark.real_commits

def migration() -> ModuleType:
    return migration_module("0027_compact.py")


def test_hashes_are_stored_raw_and_events_written_the_old_way_still_verify(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 1)  # ended, so sealed by a checkpoint
    with api.app.app_context():
        dialect = db.engine.dialect.name
        rows = db.session.execute(sa.text(
            "SELECT seq, leaf_hash, mac, payload FROM audit_events WHERE case_id = :c"),
            {"c": walk.case_id}).all()
        db.session.remove()
    assert rows and all(len(bytes(r.leaf_hash)) == 32 and len(bytes(r.mac)) == 32
                        for r in rows)
    assert any("办结" in (r.payload if isinstance(r.payload, str) else json.dumps(
        r.payload, ensure_ascii=False)) for r in rows)
    # Back to the form every event had before: hex text (on PostgreSQL, that text turned
    # into bytea by the migration itself), JSON with spaces and \u escapes.
    with tampering(api.app) as conn:
        for r in rows:
            payload = r.payload if isinstance(r.payload, str) else json.dumps(r.payload)
            old_json = json.dumps(json.loads(payload))
            if dialect == "sqlite":
                conn.execute(sa.text("UPDATE audit_events SET leaf_hash = lower(hex(leaf_hash)),"
                                     " mac = lower(hex(mac)), payload = :p WHERE seq = :s"),
                             {"p": old_json, "s": r.seq})
            else:
                to_bytes = migration().TO_BYTES
                conn.execute(sa.text(
                    f"UPDATE audit_events SET leaf_hash = "
                    f"{to_bytes.format(chr(39) + bytes(r.leaf_hash).hex() + chr(39))}, "
                    f"mac = {to_bytes.format(chr(39) + bytes(r.mac).hex() + chr(39))}, "
                    "payload = CAST(:p AS json) WHERE seq = :s"), {"p": old_json, "s": r.seq})
    with api.app.app_context():
        if dialect == "sqlite":
            stored = db.session.execute(sa.text(
                "SELECT typeof(leaf_hash), payload FROM audit_events WHERE case_id = :c"),
                {"c": walk.case_id}).all()
            assert {s[0] for s in stored} == {"text"}
            assert any("\\u" in s[1] for s in stored)
        assert verify(walk.case_id) == []
        db.session.remove()


@pytest.mark.postgres_only  # SQLite keeps old rows as they are; PostgreSQL's migration converts
def test_text_the_migration_keeps_reads_back_as_it_was(api: Api) -> None:
    with api.app.app_context():
        to_bytes = migration().TO_BYTES
        hex_leaf = "ab" * 32
        for text in (hex_leaf, hex_leaf.upper(), "not a hash"):
            read = db.session.execute(
                sa.text(f"SELECT {to_bytes.format('CAST(:t AS varchar)')} AS v")
                .columns(v=HexDigest()), {"t": text}).scalar_one()
            assert read == text
        db.session.remove()


def test_the_seal_signs_what_the_full_reading_would_and_refuses_a_forged_leaf(
        api: Api, frozen_clock: FrozenClock) -> None:
    honest = walk_case(api, frozen_clock, 1, finish=False)
    with api.app.app_context():
        run = seal_cases([honest.case_id])
        leaves = [ledger_record(e)["leaf_hash"] for e in events_of(honest.case_id)]
        db.session.rollback()
    assert not run.refused and len(run.made) == 1
    assert run.made[0]["tree_size"] == len(leaves)
    assert run.made[0]["root"] == merkle.root(leaves)

    forged = walk_case(api, frozen_clock, 1, finish=False)
    review = completed_review(api.app, forged.case_id)
    # Another approver, and the leaf recomputed to match: no secret needed, so the content
    # matches its stored hash; only the keyed chain can tell.
    with api.app.app_context():
        event = db.session.get(AuditEvent, review["seq"])
        assert event is not None
        record = event.as_record()
        db.session.remove()
    record.update(actor="juzhang")
    record.pop("seq")
    record.pop("leaf_hash")
    table = AuditEvent.__table__
    with tampering(api.app) as conn:  # through the column types: the leaf stored as the app would
        conn.execute(sa.update(table).where(table.c.seq == review["seq"]).values(
            actor="juzhang", leaf_hash=leaf_hash(canonical_event_bytes(record))))
    with api.app.app_context():
        run = seal_cases([forged.case_id])
        db.session.rollback()
    assert not run.made
    assert str(review["seq"]) in run.refused[forged.case_id]

