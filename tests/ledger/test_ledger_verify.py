"""verify_events names each altered, removed, inserted and reordered event; checkpoints sign."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.ledger.canonical import event_leaf_hash
from server.ledger.checkpoint import (
    CheckpointError,
    make_checkpoint,
    public_key_spec,
    verify_checkpoint,
)
from server.ledger.verify import Finding, verify_events

from .factory import make_events

HMAC_KEY = "test-checkpoint-secret"
ED_KEY = "ed25519:" + "11" * 32


def dense_checkpoints(events: list[dict[str, Any]], key: str = HMAC_KEY) -> list[dict[str, Any]]:
    """One log checkpoint per write, as the audit service makes them."""
    leaves = [e["leaf_hash"] for e in sorted(events, key=lambda e: e["seq"])]
    return [make_checkpoint(leaves[:n], key) for n in range(1, len(leaves) + 1)]


def kinds(findings: list[Finding]) -> set[tuple[str, int | None]]:
    return {(f.kind, f.seq) for f in findings}


def test_clean_log_has_no_findings() -> None:
    events = make_events(4)
    assert verify_events(events, dense_checkpoints(events), key=HMAC_KEY) == []
    assert verify_events(list(reversed(events)), [], key=None) == []


def test_checkpoint_hmac_and_ed25519() -> None:
    leaves = [e["leaf_hash"] for e in make_events(2)]
    cp = make_checkpoint(leaves, HMAC_KEY)
    assert cp["sig_alg"] == "hmac-sha256" and verify_checkpoint(cp, HMAC_KEY)
    assert not verify_checkpoint(cp, "another key")
    assert not verify_checkpoint({**cp, "tree_size": cp["tree_size"] - 1}, HMAC_KEY)
    ed = make_checkpoint(leaves, ED_KEY, scope="case-0001")
    assert ed["sig_alg"] == "ed25519"
    assert verify_checkpoint(ed, ED_KEY) and verify_checkpoint(ed, public_key_spec(ED_KEY))
    assert not verify_checkpoint({**ed, "root": cp["root"][::-1]}, public_key_spec(ED_KEY))
    assert not verify_checkpoint(ed, HMAC_KEY)  # an HMAC key never accepts an Ed25519 one
    with pytest.raises(CheckpointError):
        make_checkpoint(leaves, "ed25519:abcd")


def test_altered_content_with_stale_hash_is_named() -> None:
    events = make_events(3)
    cps = dense_checkpoints(events)
    events[4]["payload"]["new"]["opinion"] = "不同意"
    events[9]["actor"] = "intruder"
    found = verify_events(events, cps, key=HMAC_KEY)
    assert kinds(found) == {("altered", events[4]["seq"]), ("altered", events[9]["seq"])}


def test_altered_content_with_rewritten_hash_is_named_by_dense_checkpoints() -> None:
    events = make_events(3)
    cps = dense_checkpoints(events)
    events[6]["payload"]["new"]["status"] = "rejected"
    events[6]["leaf_hash"] = event_leaf_hash(events[6])
    found = verify_events(events, cps, key=HMAC_KEY)
    assert kinds(found) == {("altered", events[6]["seq"])}
    assert "rewritten" in found[0].detail


def test_rewritten_hash_with_sparse_checkpoints_lists_candidates() -> None:
    events = make_events(3)
    leaves = [e["leaf_hash"] for e in events]
    cps = [make_checkpoint(leaves[:5], HMAC_KEY), make_checkpoint(leaves[:10], HMAC_KEY)]
    events[7]["at"] = "2020-01-01T00:00:00Z"
    events[7]["leaf_hash"] = event_leaf_hash(events[7])
    [f] = verify_events(events, cps, key=HMAC_KEY)
    assert f.kind == "altered" and f.candidates == tuple(e["seq"] for e in events[5:10])


def test_removed_event_is_named() -> None:
    events = make_events(3)
    cps = dense_checkpoints(events)
    gone = events.pop(5)
    found = verify_events(events, cps, key=HMAC_KEY)
    assert [(f.kind, f.seq, f.case_id, f.case_seq) for f in found] == [
        ("removed", gone["seq"], None, None),
        ("removed", None, gone["case_id"], gone["case_seq"])]


def test_truncated_log_is_named() -> None:
    events = make_events(3)
    cps = dense_checkpoints(events)
    tail = events[-2:]
    found = verify_events(events[:-2], cps, key=HMAC_KEY)
    assert {("removed", e["seq"]) for e in tail} <= kinds(found)


def test_truncated_case_is_named_from_its_case_checkpoint() -> None:
    events = [e for e in make_events(3) if e["case_id"] == "case-0001"]
    cp = make_checkpoint([e["leaf_hash"] for e in events], ED_KEY, scope="case-0001")
    found = verify_events(events[:-1], [cp], key=public_key_spec(ED_KEY))
    assert [(f.kind, f.case_id, f.case_seq) for f in found] == [
        ("removed", "case-0001", events[-1]["case_seq"])]


def test_inserted_duplicate_is_named_by_checkpoints() -> None:
    events = make_events(3)
    cps = dense_checkpoints(events)
    fake = copy.deepcopy(events[3])
    fake["payload"]["new"]["opinion"] = "补录"
    fake["leaf_hash"] = event_leaf_hash(fake)
    events.insert(3, fake)  # same seq and case_seq as the original, stored first
    found = verify_events(events, cps, key=HMAC_KEY)
    assert [(f.kind, f.seq, f.detail) for f in found] == [
        ("inserted", fake["seq"], "its removal restores every checkpoint root")]


def test_inserted_case_event_without_checkpoint_is_named() -> None:
    events = [e for e in make_events(3) if e["case_id"] == "case-0002"]
    fake = copy.deepcopy(events[1])
    fake["seq"] = events[-1]["seq"] + 50  # a new row gets a new seq
    fake["leaf_hash"] = event_leaf_hash(fake)
    found = verify_events([*events, fake], [], key=None)
    assert kinds(found) == {("inserted", fake["seq"])}


def test_malformed_and_reordered_case_events_are_named() -> None:
    events = [e for e in make_events(3) if e["case_id"] == "case-0002"]
    fake = copy.deepcopy(events[-1])
    fake["seq"] = 2.5  # not an integer: cannot be placed at all
    assert [f.detail for f in verify_events([*events, fake], [], key=None)] == [
        "malformed event (seq, case_id, case_seq)"]
    # An event appended to the case (next case_seq) but given an early seq to look old.
    fake["seq"], fake["case_seq"] = events[0]["seq"] - 1, len(events) + 1
    fake["leaf_hash"] = event_leaf_hash(fake)
    assert kinds(verify_events([*events, fake], [], key=None)) == {("reordered", fake["seq"])}


def test_forged_checkpoint_is_reported_and_ignored() -> None:
    events = make_events(2)
    cps = dense_checkpoints(events)
    forged = make_checkpoint([e["leaf_hash"] for e in events], "not the key")
    found = verify_events(events, [*cps, forged], key=HMAC_KEY)
    assert [f.kind for f in found] == ["bad_checkpoint"]


def test_whole_log_and_single_case_scopes() -> None:
    events = make_events(3)
    log_cps = dense_checkpoints(events)
    case = [e for e in events if e["case_id"] == "case-0000"]
    case_cp = make_checkpoint([e["leaf_hash"] for e in case], HMAC_KEY, scope="case-0000")
    # A case on its own: seq gaps are other cases' events, log checkpoints do not apply.
    assert verify_events(case, [*log_cps, case_cp], key=HMAC_KEY) == []
    assert verify_events(events, [*log_cps, case_cp], key=HMAC_KEY) == []
    # The whole log without that case: the case checkpoint reports all of it removed.
    rest = [e for e in events if e["case_id"] != "case-0000"]
    found = verify_events(rest, [case_cp], key=HMAC_KEY, whole_log=True)
    assert {(f.case_id, f.case_seq) for f in found if f.kind == "removed"} >= {
        ("case-0000", e["case_seq"]) for e in case}
