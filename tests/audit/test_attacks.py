"""The attacks of issue 14, each made directly in SQL as a database superuser would (on
PostgreSQL with the append-only triggers bypassed), and what ``guanjia audit verify`` says."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask

from server.cli import main
from server.engine.clock import FrozenClock
from server.extensions import db
from server.ledger.canonical import canonical_event_bytes, leaf_hash
from tests.audit.walk import walk_case
from tests.conftest import Api
from tests.helpers.cli import point_cli_at
from tests.helpers.tamper import completed_review, tampering

# Rows are changed behind the app's back on a connection of its own (as an intruder
# would): the test's rows must be committed for it to see them.
pytestmark = pytest.mark.real_commits


@pytest.fixture
def cli(api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        frozen_clock: FrozenClock) -> Any:
    """Run ``guanjia audit verify`` on the test database, at the frozen clock's time."""
    point_cli_at(api.app, tmp_path / "cli-instance", monkeypatch)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["audit", *args])

    return run


def rehash(app: Flask, seq: int, **changes: Any) -> None:
    """Change an event and recompute its leaf hash, as anyone can: the hash has no secret."""
    with app.app_context():
        from server.models import AuditEvent

        event = db.session.get(AuditEvent, seq)
        assert event is not None
        record = event.as_record()
        db.session.remove()
    record.update(changes)
    record.pop("seq")
    record.pop("leaf_hash")
    sets = ", ".join(f"{k} = :{k}" for k in changes)
    with tampering(app) as conn:
        conn.execute(sa.text(f"UPDATE audit_events SET {sets}, leaf_hash = :h WHERE seq = :s"),
                     {**changes, "h": leaf_hash(canonical_event_bytes(record)), "s": seq})


def event_at(app: Flask, seq: int) -> Any:
    """An event's time as the ORM reads it (aware UTC), which is what its leaf covers."""
    with app.app_context():
        from server.models import AuditEvent

        event = db.session.get(AuditEvent, seq)
        assert event is not None
        db.session.remove()
        return event.at


def scalar(app: Flask, sql: str, **params: Any) -> Any:
    with app.app_context():
        value = db.session.execute(sa.text(sql), params).scalar()
        db.session.remove()
        return value


def test_an_untouched_history_verifies_with_exit_0_and_claims_no_checkpoint_it_lacks(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    walk = walk_case(api, frozen_clock, 1, finish=False)
    result = cli("verify")
    assert result.exit_code == 0, result.output
    assert "no signed checkpoint exists yet" in result.output
    assert "verifies against its signed checkpoints" not in result.output
    assert cli("verify", "--case", walk.case_id).exit_code == 0
    assert cli("checkpoint").exit_code == 0
    signed = cli("verify")
    assert signed.exit_code == 0 and "newest signed checkpoint" in signed.output, signed.output


def test_an_edit_with_its_hash_recomputed_is_named_without_any_checkpoint(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    walk = walk_case(api, frozen_clock, 1, finish=False)
    assert scalar(api.app, "SELECT count(*) FROM checkpoints") == 0
    review = completed_review(api.app, walk.case_id)
    rehash(api.app, review["seq"], actor="juzhang")
    result = cli("verify")
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"TAMPERED altered: seq {review['seq']}, case {walk.case_id}")
    assert "MAC does not match" in first
    assert cli("verify", "--case", walk.case_id).exit_code == 1


@pytest.mark.parametrize("fix_anchor", [False, True])
def test_the_newest_event_deleted_and_the_counter_fixed_is_named(
        api: Api, frozen_clock: FrozenClock, cli: Any, fix_anchor: bool) -> None:
    walk = walk_case(api, frozen_clock, 1, finish=False)
    last_seq = scalar(api.app, "SELECT max(seq) FROM audit_events")
    case_seq = scalar(api.app, "SELECT case_seq FROM audit_events WHERE seq = :s", s=last_seq)
    previous_leaf = scalar(api.app, "SELECT leaf_hash FROM audit_events WHERE case_id = :c "
                                    "AND case_seq = :n", c=walk.case_id, n=case_seq - 1)
    previous_leaf = bytes(previous_leaf).hex()  # stored raw; the anchor holds it as hex
    with tampering(api.app) as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = :s"), {"s": last_seq})
        conn.execute(sa.text("UPDATE cases SET event_count = event_count - 1 WHERE id = :c"),
                     {"c": walk.case_id})
        if fix_anchor:  # the anchor's leaf can be set back too; its MAC cannot
            conn.execute(sa.text("UPDATE cases SET ledger_leaf = :l WHERE id = :c"),
                         {"l": previous_leaf, "c": walk.case_id})
    for args in (("verify", "--case", walk.case_id), ("verify",)):
        result = cli(*args)
        assert result.exit_code == 1, result.output
        if fix_anchor:
            assert (f"TAMPERED altered: case {walk.case_id}: the anchor's MAC does not match"
                    in result.output)
        else:
            assert (f"TAMPERED removed: case {walk.case_id}: the anchor names another newest "
                    f"event than the stored event {case_seq - 1}") in result.output


def test_checkpoints_deleted_are_missed_and_an_edit_still_fails(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    ended = walk_case(api, frozen_clock, 1)
    running = walk_case(api, frozen_clock, 1, finish=False)
    assert cli("checkpoint").exit_code == 0
    assert cli("verify").exit_code == 0
    with tampering(api.app) as conn:
        conn.execute(sa.text("DELETE FROM checkpoints"))
    frozen_clock.advance(timedelta(minutes=31))  # beat would have signed by now
    result = cli("verify")
    assert result.exit_code == 1, result.output
    # The ended case's seal is gone, and the log is older than the county's period unsigned.
    assert f"case {ended.case_id}" in result.output and "no checkpoint seals it" in result.output
    assert "no checkpoint of the log exists" in result.output
    assert "county's period of 30 minutes" in result.output
    review = completed_review(api.app, running.case_id)
    rehash(api.app, review["seq"], actor="juzhang")
    edited = cli("verify", "--case", running.case_id)
    assert edited.exit_code == 1 and f"altered: seq {review['seq']}" in edited.output


def test_a_checkpoint_removed_from_the_middle_breaks_the_chain_of_checkpoints(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    walk_case(api, frozen_clock, 1, finish=False)
    assert cli("checkpoint").exit_code == 0
    walk_case(api, frozen_clock, 1, finish=False)
    assert cli("checkpoint").exit_code == 0
    walk_case(api, frozen_clock, 1, finish=False)
    assert cli("checkpoint").exit_code == 0
    middle = scalar(api.app, "SELECT tree_size FROM checkpoints WHERE scope = 'log' "
                             "ORDER BY tree_size LIMIT 1 OFFSET 1")
    with tampering(api.app) as conn:
        conn.execute(sa.text("DELETE FROM checkpoints WHERE scope = 'log' AND tree_size = :n"),
                     {"n": middle})
    result = cli("verify")
    assert result.exit_code == 1
    assert "checkpoints were removed" in result.output, result.output


def test_a_forged_completion_after_the_end_of_a_sealed_case_is_named(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    walk = walk_case(api, frozen_clock, 1)
    review = completed_review(api.app, walk.case_id)
    last = scalar(api.app, "SELECT event_count FROM cases WHERE id = :c", c=walk.case_id)
    at = event_at(api.app, review["seq"])
    forged = {"case_id": walk.case_id, "case_seq": last + 1, "type": "task_completed",
              "actor": "juzhang", "role": "bureau_head", "at": at.replace(tzinfo=None),
              "task_id": review["task_id"], "element_id": "review", "element_name": "审核",
              "payload": {"old": {}, "new": {"approved": True}}}
    record = dict(forged, at=at.isoformat())
    with tampering(api.app) as conn:
        # Hash recomputed, counter bumped, and a MAC copied from a real event for good measure.
        conn.execute(sa.text(
            "INSERT INTO audit_events (case_id, case_seq, type, actor, role, at, task_id, "
            "element_id, element_name, payload, leaf_hash, mac) VALUES (:case_id, :case_seq, "
            ":type, :actor, :role, :at, :task_id, :element_id, :element_name, :payload, "
            ":leaf_hash, :mac)"),
            dict(forged, payload=json.dumps(forged["payload"], ensure_ascii=False),
                 leaf_hash=leaf_hash(canonical_event_bytes(record)), mac=review["mac"]))
        conn.execute(sa.text("UPDATE cases SET event_count = event_count + 1 WHERE id = :c"),
                     {"c": walk.case_id})
    seq = scalar(api.app, "SELECT max(seq) FROM audit_events")
    for args in (("verify",), ("verify", "--case", walk.case_id)):
        result = cli(*args)
        assert result.exit_code == 1, result.output
        assert (f"after_seal: seq {seq}, case {walk.case_id}, case_seq {last + 1}: "
                "task_completed recorded after the case was sealed") in result.output
        assert f"altered: seq {seq}" in result.output or f"inserted: seq {seq}" in result.output


def test_an_event_inserted_in_the_middle_with_the_rest_renumbered_is_named(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    walk = walk_case(api, frozen_clock, 1, finish=False)
    review = completed_review(api.app, walk.case_id)
    later = scalar(api.app, "SELECT max(case_seq) FROM audit_events WHERE case_id = :c",
                   c=walk.case_id)
    # Make room after the review: every later event moves up by one, hashes recomputed.
    with api.app.app_context():
        seqs = list(db.session.execute(sa.text(
            "SELECT seq FROM audit_events WHERE case_id = :c AND case_seq > :n "
            "ORDER BY case_seq DESC"), {"c": walk.case_id, "n": review["case_seq"]}).scalars())
        db.session.remove()
    for seq in seqs:
        n = scalar(api.app, "SELECT case_seq FROM audit_events WHERE seq = :s", s=seq)
        rehash(api.app, seq, case_seq=n + 1)
    at = event_at(api.app, review["seq"])
    forged = {"case_id": walk.case_id, "case_seq": review["case_seq"] + 1, "type": "comment",
              "actor": "juzhang", "role": "bureau_head", "at": at.isoformat(),
              "task_id": None, "element_id": None, "element_name": None,
              "payload": {"text": "同意"}}
    with tampering(api.app) as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_events (case_id, case_seq, type, actor, role, at, task_id, "
            "element_id, element_name, payload, leaf_hash) VALUES (:case_id, :case_seq, :type, "
            ":actor, :role, :at, :task_id, :element_id, :element_name, :payload, :leaf_hash)"),
            dict(forged, at=at.replace(tzinfo=None), payload=json.dumps(forged["payload"]),
                 leaf_hash=leaf_hash(canonical_event_bytes(forged))))
        conn.execute(sa.text("UPDATE cases SET event_count = :n WHERE id = :c"),
                     {"n": later + 1, "c": walk.case_id})
    seq = scalar(api.app, "SELECT max(seq) FROM audit_events")
    result = cli("verify", "--case", walk.case_id)
    assert result.exit_code == 1, result.output
    assert (f"inserted: seq {seq}, case {walk.case_id}, case_seq {review['case_seq'] + 1}: "
            "carries no MAC") in result.output


def test_verify_with_the_database_unreachable_exits_2(
        cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANJIA_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/none")
    result = cli("verify")
    assert result.exit_code == 2, result.output
    assert "COULD NOT CHECK the whole log: the database is unreachable" in result.output


def test_verify_without_any_audit_key_exits_2(
        api: Api, frozen_clock: FrozenClock, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    walk_case(api, frozen_clock, 1, finish=False)
    monkeypatch.delenv("GUANJIA_SECRET_KEY")
    monkeypatch.delenv("GUANJIA_CHECKPOINT_KEY", raising=False)
    result = cli("verify")
    assert result.exit_code == 2, result.output
    assert "COULD NOT CHECK the whole log: no audit key" in result.output


def test_beat_signs_every_ten_minutes_when_there_is_something_new_and_copies_to_the_anchor(
        make_app: Any, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    from server.services import ledger
    from tests.audit.walk import ensure_audit_pages
    from workers.schedule import beat_schedule
    from workers.settings import WorkerSettings

    entry = beat_schedule(WorkerSettings.from_env({}))["sign-audit-checkpoints"]
    assert entry == {"task": "guanjia.ledger.checkpoint", "schedule": 600.0}
    anchor = tmp_path / "anchor" / "checkpoints.jsonl"
    app = make_app(GUANJIA_CHECKPOINT_ANCHOR=str(anchor))
    ensure_audit_pages(app)
    api = Api(app, app.test_client())
    walk = walk_case(api, frozen_clock, 1)  # ends: sealed, and the seal goes to the anchor
    with app.app_context():
        run = ledger.checkpoint_if_new_events()
        assert [cp["scope"] for cp in run.made] == ["log"]
        assert ledger.checkpoint_if_new_events().made == []  # nothing new: nothing signed
        db.session.remove()
    lines = [json.loads(line) for line in anchor.read_text(encoding="utf-8").splitlines()]
    assert [(cp["scope"], cp["version"]) for cp in lines] == [(walk.case_id, 2), ("log", 2)]
    with tampering(app) as conn:
        conn.execute(sa.text("DELETE FROM checkpoints WHERE scope = 'log'"))
    with app.app_context():
        found = [str(f) for f in ledger.verify()]
        db.session.remove()
    assert any("is in the anchor file" in f and "missing from the database" in f
               for f in found), found


@pytest.mark.parametrize("change", ["engine", "completed_by", "status"])
def test_a_case_state_changed_with_the_log_untouched_is_named(
        api: Api, frozen_clock: FrozenClock, cli: Any, change: str) -> None:
    walk = walk_case(api, frozen_clock, 1)
    assert cli("verify").exit_code == 0
    review = completed_review(api.app, walk.case_id)
    with tampering(api.app) as conn:
        if change == "engine":
            conn.execute(sa.text("UPDATE engine_tasks SET body = replace(body, :a, :b) "
                                 "WHERE case_id = :c"),
                         {"a": '"approved":true', "b": '"approved":false', "c": walk.case_id})
        elif change == "completed_by":
            conn.execute(sa.text("UPDATE work_items SET completed_by = 'juzhang' WHERE id = :t"),
                         {"t": review["task_id"]})
        else:
            conn.execute(sa.text("UPDATE cases SET status = 'rejected' WHERE id = :c"),
                         {"c": walk.case_id})
    result = cli("verify")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("TAMPERED")]
    assert lines and all(f"case {walk.case_id}" in line for line in lines), result.output
    expected = {"engine": "its engine rows no longer match the state sealed when the case "
                          "ended",
                "completed_by": "is stored as completed by 'juzhang', its history says "
                                "'zhaoshang'",
                "status": "the case is stored as 'rejected', its history ended it as "
                          "'completed'"}[change]
    assert expected in result.output, result.output


def test_an_edited_deployment_is_named(api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    walk_case(api, frozen_clock, 1, finish=False)
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE deployment_files SET content = replace(content, '办结', "
                             "'结束') WHERE name = 'parallel_items.bpmn'"))
    result = cli("verify")
    assert result.exit_code == 1, result.output
    assert ("deployment version 1: the stored content of parallel_items.bpmn does not match "
            "its content hash") in result.output
    import hashlib

    with api.app.app_context():
        content = db.session.execute(sa.text(
            "SELECT content FROM deployment_files WHERE name = 'parallel_items.bpmn'")).scalar()
        db.session.remove()
    with tampering(api.app) as conn:  # the hash rewritten too: the deployment event disagrees
        conn.execute(sa.text("UPDATE deployment_files SET sha256 = :h "
                             "WHERE name = 'parallel_items.bpmn'"),
                     {"h": hashlib.sha256(content.encode("utf-8")).hexdigest()})
    result = cli("verify")
    assert result.exit_code == 1
    assert ("deployment version 1: parallel_items.bpmn is not the file its deployment event "
            "recorded") in result.output, result.output


def test_history_from_before_the_chain_is_adopted_once_and_then_held_to_it(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    ended = walk_case(api, frozen_clock, 1)
    running = walk_case(api, frozen_clock, 1, finish=False)
    # What an installation upgraded from before the chain holds: no MACs, anchors, checkpoints.
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE audit_events SET mac = NULL"))
        conn.execute(sa.text("UPDATE cases SET ledger_mac = NULL, ledger_leaf = '', "
                             "event_count = (SELECT count(*) FROM audit_events a "
                             "WHERE a.case_id = cases.id)"))
        conn.execute(sa.text("DELETE FROM ledger_heads"))
        conn.execute(sa.text("DELETE FROM checkpoints"))
    before = cli("verify")
    assert before.exit_code == 1 and "guanjia audit adopt-chain" in before.output
    adopted = cli("adopt-chain")
    assert adopted.exit_code == 0 and "adopted" in adopted.output, adopted.output
    assert cli("adopt-chain").exit_code == 1  # once only
    after = cli("verify")
    assert after.exit_code == 0, after.output
    # The running case carries on under the chain, and a deployment joins the log's chain.
    review = completed_review(api.app, running.case_id)
    with api.app.app_context():
        from server.services import processes

        bpmn = (Path(__file__).resolve().parents[2] / "tests/fixtures/processes/"
                "parallel_items.bpmn").read_text(encoding="utf-8")
        processes.deploy({"parallel_items.bpmn": bpmn.replace('name="办结"', 'name="办结归档"')},
                         author="sheji")
        db.session.remove()
    for task in api.tasks("fgj", case_id=running.case_id):
        assert api.post(f"/tasks/{task['id']}/complete", "fgj",
                        json={"data": {"receiver": "fgj"}}).status_code == 200
    assert cli("verify").exit_code == 0, cli("verify").output
    # An adopted event edited with its hash recomputed no longer matches the adoption record.
    rehash(api.app, review["seq"], actor="juzhang")
    result = cli("verify", "--case", running.case_id)
    assert result.exit_code == 1
    assert "no longer match the adoption record" in result.output, result.output
    assert cli("verify", "--case", ended.case_id).exit_code == 0


def test_verify_reexecute_names_a_running_case_whose_engine_state_was_changed(
        api: Api, frozen_clock: FrozenClock, cli: Any) -> None:
    walk = walk_case(api, frozen_clock, 1, finish=False)
    assert cli("verify", "--reexecute").exit_code == 0
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE engine_tasks SET body = replace(body, :a, :b) "
                             "WHERE case_id = :c"),
                     {"a": '"approved":true', "b": '"approved":false', "c": walk.case_id})
    result = cli("verify", "--reexecute")
    assert result.exit_code == 1, result.output
    assert (f"state_changed: case {walk.case_id}: re-executing its recorded inputs: the stored "
            "state is not what the recorded inputs lead to: data 'approved' is stored as false"
            in result.output), result.output


@pytest.mark.postgres_only  # the append-only trigger is PostgreSQL's (SQLite has no superuser)
def test_postgresql_refuses_to_change_or_remove_a_checkpoint(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk_case(api, frozen_clock, 1)  # ends: its seal is a checkpoint
    with api.app.app_context():
        assert db.engine.dialect.name == "postgresql"
        for statement in ("DELETE FROM checkpoints", "UPDATE checkpoints SET root = 'x'",
                          "TRUNCATE checkpoints"):
            with (pytest.raises(sa.exc.DBAPIError, match="checkpoints is append-only"),
                  db.engine.begin() as conn):
                conn.execute(sa.text(statement))
        assert db.session.execute(sa.text("SELECT count(*) FROM checkpoints")).scalar() == 1
        db.session.remove()
