"""A multi-instance fan-out is one audit event; every reader still sees each task.

The tasks one step opens for one element (here: a sheet per approval item, each for its own
department) are one ``tasks_created`` row. The XES export still has one ``task_created`` per
task, replay and re-execution still verify, the calendar still knows when each task opened,
the case page says how many were dispatched, tampering with the event is still found, and a
case written one row per task before the change still reads, replays and verifies.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from lxml import etree

from server.engine.clock import FrozenClock
from server.extensions import db
from server.ledger.canonical import canonical_event_bytes, leaf_hash
from server.ledger.verify import ALTERED, REMOVED
from server.models import AuditEvent
from server.services import exports, ledger
from server.services.calendar_changes import opened_at
from tests.audit.walk import (
    DEPARTMENTS,
    assert_replay_matches,
    finish_walk,
    replay_of,
    sign_in,
    walk_case,
)
from tests.conftest import Api
from tests.helpers.reexecution import assert_same, reexecute
from tests.helpers.tamper import tampering

# Rows are changed behind the app's back on a connection of its own (as an intruder
# would): the test's rows must be committed for it to see them.
pytestmark = pytest.mark.real_commits

XSD = Path(__file__).resolve().parents[1] / "fixtures" / "standards" / "xes-ieee-1849-2016.xsd"


def stored(app: Flask, case_id: str) -> list[dict[str, Any]]:
    """The case's audit rows as stored, in case order."""
    with app.app_context():
        rows = [e.as_record() | {"mac": e.mac} for e in db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.case_seq)).scalars()]
        db.session.remove()
    return rows


def work_items(app: Flask, case_id: str, element: str | None = None) -> set[str]:
    with app.app_context():
        query = "SELECT id FROM work_items WHERE case_id = :c"
        if element is not None:
            query += " AND element_id = :e"
        found = set(db.session.execute(sa.text(query), {"c": case_id, "e": element}).scalars())
        db.session.remove()
    return found


def xes_events(app: Flask, case_id: str) -> list[dict[str, str]]:
    """The case's XES events (valid against the IEEE 1849-2016 schema), attributes by key."""
    with app.app_context():
        document = exports.to_xes([case_id])
        db.session.remove()
    doc = etree.fromstring(document)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(doc)
    (trace,) = doc.findall("trace")
    return [{a.get("key"): a.get("value") for a in event} for event in trace.findall("event")]


def sheet_schedules(events: list[dict[str, str]]) -> list[dict[str, str]]:
    return [e for e in events
            if e.get("element_id") == "take_sheet" and e["lifecycle:transition"] == "schedule"]


def test_a_fan_out_is_one_event_and_every_reader_still_sees_each_task(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 6, finish=False)
    sheets = work_items(api.app, walk.case_id, "take_sheet")
    assert len(sheets) == 6

    # One row for the six sheets, listing them; each department only once, on its own sheet.
    rows = [r for r in stored(api.app, walk.case_id) if r["element_id"] == "take_sheet"]
    assert [(r["type"], r["task_id"]) for r in rows] == [("tasks_created", None)]
    fan_out = rows[0]
    assert set(fan_out["payload"]["task_ids"]) == sheets
    shown = api.get(f"/cases/{walk.case_id}", "zhaoshang").json["history"]
    assert [e["payload"] for e in shown if e["case_seq"] == fan_out["case_seq"]] == [
        fan_out["payload"]]

    # XES: one schedule per sheet, each with its item, its department as its candidate group,
    # and the one audit event it came from.
    schedules = sheet_schedules(xes_events(api.app, walk.case_id))
    assert {e["task_id"] for e in schedules} == sheets
    assert {e["type"] for e in schedules} == {"task_created"}
    assert {e["seq"] for e in schedules} == {str(fan_out["seq"])}
    assert {e["leaf_hash"] for e in schedules} == {fan_out["leaf_hash"]}
    assert sorted(e["item_id"] for e in schedules) == [f"item_{k:02d}" for k in range(6)]
    for e in schedules:
        assert json.loads(e["payload"])["candidate_groups"] == [e["department"]]
    assert {e["department"] for e in schedules} == {d for d, _ in DEPARTMENTS}

    # OCEL: each sheet its own event, ids still unique; CSV: a row per sheet.
    with api.app.app_context():
        ocel = json.loads(exports.to_ocel([walk.case_id]))
        csv_text = exports.to_csv([walk.case_id]).decode("utf-8-sig")
        # The calendar's recount counts each sheet's deadline from the moment it opened.
        opened = opened_at(walk.case_id, sorted(sheets))
        db.session.remove()
    ids = [e["id"] for e in ocel["events"]]
    assert len(ids) == len(set(ids))
    assert sum(e["type"] == "task_created" and {"name": "element_id", "value": "take_sheet"}
               in e["attributes"] for e in ocel["events"]) == 6
    assert sum(",task_created," in line and ",take_sheet," in line
               for line in csv_text.splitlines()) == 6
    assert opened == {t: datetime.fromisoformat(fan_out["at"]) for t in sheets}

    # Replay: the event is one step, after which all six sheets are open.
    found = replay_of(api.app, walk.case_id)
    step = next(s for s in found.steps if s.event["case_seq"] == fan_out["case_seq"])
    assert {t["task_id"] for t in step.active_tasks} == sheets
    assert_replay_matches(api.app, walk)
    assert_same(api.app, walk.case_id)

    # The case page: one line for the six, naming each sheet's department.
    client = api.app.test_client()
    sign_in(client, "zhaoshang")
    page = client.get(f"/cases/{walk.case_id}").get_data(as_text=True)
    assert page.count("6 项任务已派发") == 1
    fan_out_list = page[page.index("6 项任务已派发"):]
    fan_out_list = fan_out_list[fan_out_list.index('<ol class="fan-out'):]
    assert fan_out_list[:fan_out_list.index("</ol>")].count("<li>") == 6

    # To the end: every task the case ever opened is one schedule in the XES, no more.
    finish_walk(api, frozen_clock, walk, 6)
    assert_same(api.app, walk.case_id)
    events = xes_events(api.app, walk.case_id)
    scheduled = Counter(e["task_id"] for e in events if e["lifecycle:transition"] == "schedule")
    assert set(scheduled) == work_items(api.app, walk.case_id)
    assert set(scheduled.values()) == {1}


def test_a_superuser_editing_or_deleting_a_fan_out_is_found(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 3, finish=False)
    fan_out = next(r for r in stored(api.app, walk.case_id) if r["type"] == "tasks_created")
    # A sheet taken out of the list, the leaf hash recomputed to match (no key needed for
    # that; the MAC needs the audit key, which the database never holds).
    edited = {k: v for k, v in fan_out.items() if k not in ("seq", "leaf_hash", "mac")}
    edited["payload"] = dict(fan_out["payload"], task_ids=fan_out["payload"]["task_ids"][:2])
    edited["payload"].pop("per_task", None)
    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE audit_events SET payload = :p, leaf_hash = :h "
                             "WHERE seq = :s"),
                     {"p": json.dumps(edited["payload"], ensure_ascii=False),
                      "h": bytes.fromhex(leaf_hash(canonical_event_bytes(edited))),
                      "s": fan_out["seq"]})
    with api.app.app_context():
        found = ledger.verify(walk.case_id)
        db.session.remove()
    # (It was the newest event: the case's anchor names it too.)
    assert any(f.kind == ALTERED and f.seq == fan_out["seq"] for f in found), found
    # The recorded path now opens two sheets where the engine opens three.
    rerun = reexecute(api.app, walk.case_id)
    assert not rerun.ok
    assert rerun.recorded.count(("task_created", "take_sheet")) == 2
    assert rerun.replayed.count(("task_created", "take_sheet")) == 3

    with tampering(api.app) as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = :s"), {"s": fan_out["seq"]})
    with api.app.app_context():
        found = ledger.verify(walk.case_id)
        db.session.remove()
    assert any(f.kind == REMOVED and f.case_seq == fan_out["case_seq"] for f in found), found


def test_a_case_written_one_row_per_task_before_the_change_still_reads_and_verifies(
        api: Api, frozen_clock: FrozenClock) -> None:
    # Before fan-outs were one event, every task opened was its own task_created row: the
    # writer then grouped nothing. The case starts so, and goes on after the upgrade.
    with pytest.MonkeyPatch.context() as before_the_change:
        before_the_change.setattr("server.services.case_state._fan_outs",
                                  lambda humans: [[human] for human in humans])
        walk = walk_case(api, frozen_clock, 12, finish=False)
    finish_walk(api, frozen_clock, walk, 12)

    rows = stored(api.app, walk.case_id)
    sheet_rows = [r for r in rows if r["element_id"] == "take_sheet" and "created" in r["type"]]
    assert [r["type"] for r in sheet_rows] == ["task_created"] * 12  # the old shape
    # The sheets left over 30 minutes were urged together, after the upgrade: one event.
    urged = [r for r in rows if r["type"] == "tasks_created"]
    assert [r["element_id"] for r in urged] == ["urge_department"]
    assert len(urged[0]["payload"]["task_ids"]) >= 2

    assert_replay_matches(api.app, walk)
    assert_same(api.app, walk.case_id)
    events = xes_events(api.app, walk.case_id)
    assert {e["task_id"] for e in sheet_schedules(events)} == work_items(
        api.app, walk.case_id, "take_sheet")
    scheduled = Counter(e["task_id"] for e in events if e["lifecycle:transition"] == "schedule")
    assert set(scheduled) == work_items(api.app, walk.case_id)
    assert set(scheduled.values()) == {1}
    with api.app.app_context():
        csv_rows = exports.to_csv([walk.case_id]).decode("utf-8-sig")
        db.session.remove()
    assert sum(1 for _ in io.StringIO(csv_rows)) == 1 + len(events)
