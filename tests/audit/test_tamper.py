"""Tamper evidence: alter, delete and insert events in the database; verify names each."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.engine.clock import FrozenClock
from server.extensions import db
from server.ledger.canonical import canonical_event_bytes, leaf_hash
from server.ledger.verify import ALTERED, INSERTED, REMOVED
from server.services import coverage, ledger
from tests.audit.walk import walk_case
from tests.conftest import Api
from tests.helpers.tamper import completed_review, tampering

# The tampering is done on a connection of its own, as an intruder's would be: the rows the
# test wrote must be committed for it to see them.
pytestmark = pytest.mark.real_commits


def verify(app: Flask, case_id: str | None = None) -> list[Any]:
    with app.app_context():
        found = ledger.verify(case_id)
        db.session.remove()
        return found


def checkpoint(app: Flask) -> ledger.CheckpointRun:
    with app.app_context():
        run = ledger.make_checkpoints()
        db.session.remove()
        return run




def test_an_untouched_log_verifies_and_checkpoints_cover_log_and_cases(
        api: Api, frozen_clock: FrozenClock) -> None:
    first = walk_case(api, frozen_clock, 2)
    second = walk_case(api, frozen_clock, 1, finish=False)
    with api.app.app_context():
        # The finished case was sealed by a checkpoint as it ended; the running one was not.
        assert [cp["scope"] for cp in ledger.stored_checkpoints()] == [first.case_id]
        db.session.remove()
    run = checkpoint(api.app)
    assert {cp["scope"] for cp in run.made} == {"log", second.case_id}
    assert not run.refused
    assert verify(api.app) == []
    assert verify(api.app, first.case_id) == []
    # Nothing changed since: the next run signs nothing new.
    assert checkpoint(api.app).made == []


def test_an_altered_payload_is_named(api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 2)
    checkpoint(api.app)
    review = completed_review(api.app, walk.case_id)
    payload = review["payload"] if isinstance(review["payload"], dict) else \
        json.loads(review["payload"])
    payload["new"]["review_note"] = "不符合条件"
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE audit_events SET payload = :p WHERE seq = :s"),
                     {"p": json.dumps(payload, ensure_ascii=False), "s": review["seq"]})
    for scope in (None, walk.case_id):
        found = verify(api.app, scope)
        assert [(f.kind, f.seq) for f in found] == [(ALTERED, review["seq"])], found


def test_an_altered_event_with_a_recomputed_hash_is_named_by_the_checkpoint(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 2)
    # One checkpoint per event of the case, as a dense checkpoint schedule would make.
    review = completed_review(api.app, walk.case_id)
    checkpoint(api.app)
    record = {k: review[k] for k in ("case_id", "case_seq", "type", "actor", "role", "task_id",
                                     "element_id", "element_name")}
    record["actor"] = "juzhang"
    with api.app.app_context():
        from server.models import AuditEvent

        event = db.session.get(AuditEvent, review["seq"])
        assert event is not None
        full = event.as_record()
        db.session.remove()
    full.update(actor="juzhang")
    full.pop("seq")
    full.pop("leaf_hash")
    forged = leaf_hash(canonical_event_bytes(full))
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE audit_events SET actor = 'juzhang', leaf_hash = :h "
                             "WHERE seq = :s"), {"h": forged, "s": review["seq"]})
    found = verify(api.app, walk.case_id)
    # The edited event, and the work item that no longer agrees with it.
    assert found and {f.kind for f in found} == {ALTERED, coverage.STATE}, found
    named = {f.seq for f in found} | {s for f in found for s in f.candidates}
    assert review["seq"] in named


def test_a_deleted_event_is_named(api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 2)
    checkpoint(api.app)
    review = completed_review(api.app, walk.case_id)
    with tampering(api.app) as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = :s"), {"s": review["seq"]})
    found = verify(api.app, walk.case_id)
    assert any(f.kind == REMOVED and f.case_seq == review["case_seq"] for f in found), found
    whole = verify(api.app)
    assert any(f.kind == REMOVED and f.seq == review["seq"] for f in whole), whole


def test_the_last_event_deleted_is_named(api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 1)
    checkpoint(api.app)
    last = walk.snapshots[-1].last_case_seq
    with tampering(api.app) as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE case_id = :c AND case_seq = :s"),
                     {"c": walk.case_id, "s": last})
    found = verify(api.app, walk.case_id)
    assert any(f.kind == REMOVED and f.case_seq == last for f in found), found


def test_an_inserted_event_is_named(api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 2)
    checkpoint(api.app)
    last = walk.snapshots[-1].last_case_seq
    review = completed_review(api.app, walk.case_id)
    with api.app.app_context():
        from server.models import AuditEvent

        original = db.session.get(AuditEvent, review["seq"])
        assert original is not None
        at = original.at
        db.session.remove()
    # A forged approval with a well-formed hash, appended with the next case number.
    forged = {"case_id": walk.case_id, "case_seq": last + 1, "type": "task_completed",
              "actor": "juzhang", "role": "bureau_head", "at": at.isoformat(),
              "task_id": review["task_id"], "element_id": "review", "element_name": "审核",
              "payload": {"old": {}, "new": {"approved": True}}}
    with tampering(api.app) as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_events (case_id, case_seq, type, actor, role, at, task_id, "
            "element_id, element_name, payload, leaf_hash) VALUES (:case_id, :case_seq, :type, "
            ":actor, :role, :at, :task_id, :element_id, :element_name, :payload, :leaf_hash)"),
            dict(forged, at=at.replace(tzinfo=None),
                 payload=json.dumps(forged["payload"], ensure_ascii=False),
                 leaf_hash=leaf_hash(canonical_event_bytes(forged))))
        seq = conn.execute(sa.text("SELECT max(seq) FROM audit_events")).scalar()
    for scope in (walk.case_id, None):
        found = verify(api.app, scope)
        # It carries no MAC, it comes after the case was sealed by its end, and the review's
        # work item does not name the forged approver.
        assert {(f.kind, f.seq) for f in found} == {
            (INSERTED, seq), (ledger.SEALED, seq), (coverage.STATE, seq)}, found


def test_checkpoints_refuse_to_sign_over_tampered_history(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 1, finish=False)
    review = completed_review(api.app, walk.case_id)
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE audit_events SET actor = 'someone' WHERE seq = :s"),
                     {"s": review["seq"]})
    run = checkpoint(api.app)
    assert "log" in run.refused and walk.case_id in run.refused
    assert run.made == []
