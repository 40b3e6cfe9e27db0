"""XES validates against the IEEE 1849-2016 XSD; OCEL 2.0 and CSV carry what they should."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from server.ledger.csvexport import COLUMNS, events_to_csv, events_to_csv_bytes
from server.ledger.ocel import OBJECT_TYPES, to_ocel
from server.ledger.xes import XESError, to_xes

from .factory import case_attributes, make_events

# Vendored: tests read nothing outside the repository.
XSD = Path(__file__).resolve().parents[1] / "fixtures" / "standards" / "xes-ieee-1849-2016.xsd"


def make_cases(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = make_events(n, seed=seed)
    cases = []
    for i in range(n):
        attrs = case_attributes(i, rng)
        attrs["policy_compliant"] = bool(i % 2)
        attrs["items"][0]["materials"] = ["营业执照", {"code": "EIA", "name": "环评报告"}]
        evs = [e for e in events if e["case_id"] == attrs["case_id"]]
        evs[-1]["payload"]["item"] = attrs["items"][0]  # the engine records the MI item
        cases.append({"case_id": attrs["case_id"], "attributes": attrs, "events": evs})
    return cases


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def test_xes_of_100_cases_validates(schema: etree.XMLSchema) -> None:
    cases = make_cases(100)
    doc = etree.fromstring(to_xes(cases))
    schema.assertValid(doc)
    traces = doc.findall("trace")
    assert len(traces) == 100
    assert sum(len(t.findall("event")) for t in traces) == sum(len(c["events"]) for c in cases)
    assert {c.get("name") for c in doc.findall("classifier")} >= {"Activity", "Resource"}
    assert {x.get("prefix") for x in doc.findall("extension")} == {
        "concept", "time", "lifecycle", "org"}
    first = traces[0].find("event")
    assert first is not None
    keys = {a.get("key"): a.get("value") for a in first}
    assert keys["lifecycle:transition"] == "start"
    assert keys["time:timestamp"].endswith("+00:00")


def test_xes_survives_hostile_strings(schema: etree.XMLSchema) -> None:
    [case] = make_cases(1)
    case["attributes"]["project_name"] = "控制\x01字符 <&> \ud800"
    case["attributes"]["1st key with spaces"] = "x"
    case["events"][0]["actor"] = "a\x0bb"
    schema.assertValid(etree.fromstring(to_xes([case])))
    case["events"][0]["at"] = "yesterday"
    with pytest.raises(XESError):
        to_xes([case])


def test_ocel_has_the_object_types_and_relations() -> None:
    cases = make_cases(5)
    doc = json.loads(json.dumps(to_ocel(cases), ensure_ascii=False))
    assert [t["name"] for t in doc["objectTypes"]] == list(OBJECT_TYPES)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for o in doc["objects"]:
        by_type.setdefault(o["type"], []).append(o)
    assert set(by_type) == set(OBJECT_TYPES)
    assert len(by_type["project"]) == 5
    assert {e["type"] for e in doc["events"]} == {t["name"] for t in doc["eventTypes"]}
    ids = {o["id"] for o in doc["objects"]}
    for e in doc["events"]:
        assert e["relationships"][0]["qualifier"] == "case"
        assert all(r["objectId"] in ids for r in e["relationships"])
    for o in doc["objects"]:
        assert all(r["objectId"] in ids for r in o["relationships"])
    assert any(r["qualifier"] == "item" for e in doc["events"] for r in e["relationships"])
    assert any(r["qualifier"] == "requires" for o in by_type["item"] for r in o["relationships"])


def test_csv_rows_and_formula_guard() -> None:
    events = make_events(2)
    events[0]["actor"] = "=HYPERLINK(\"http://x\")"
    text = events_to_csv(reversed(events))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert [int(r[0]) for r in rows[1:]] == sorted(e["seq"] for e in events)
    assert rows[1][COLUMNS.index("actor")].startswith("'=")
    assert json.loads(rows[1][COLUMNS.index("payload")]) == events[0]["payload"]
    assert events_to_csv_bytes(events).startswith(b"\xef\xbb\xbf")
