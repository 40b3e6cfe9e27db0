"""Export cases to OCEL 2.0 JSON (object-centric event log, ocel-standard.org).

Object types: ``project`` (one per case), ``item`` (each approval item of the case),
``department`` (the bureau handling an item), ``material`` (documents an item requires, from
``item["materials"]`` or the case's ``materials``). Each audit event relates to its project,
and to the item and department it concerns when the event names them (``payload`` item code,
or a ``dept_*`` role). An event's id is ``event:<seq>``; the tasks of one fan-out, which share
their audit event's ``seq``, are ``event:<seq>.<part>``.

A case is a mapping ``{"case_id": str, "attributes": {...}, "events": [event, ...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .xes import xes_datetime

OBJECT_TYPES = ("project", "item", "department", "material")
_PROJECT_ATTRS = (("project_name", "string"), ("enterprise_name", "string"),
                  ("industry", "string"), ("investment_wan", "float"), ("status", "string"))
_EVENT_ATTRS = (("actor", "string"), ("role", "string"), ("task_id", "string"),
                ("element_id", "string"), ("seq", "integer"), ("case_seq", "integer"),
                ("case_id", "string"), ("item_id", "string"), ("item_name", "string"),
                ("department", "string"), ("leaf_hash", "string"), ("payload", "string"))
_EPOCH = "1970-01-01T00:00:00Z"  # OCEL attribute values carry a time; ours are case-level


def _material_list(raw: Any) -> list[tuple[str, str]]:
    out = []
    for m in raw or []:
        if isinstance(m, Mapping):
            code = str(m.get("code") or m.get("name"))
            out.append((code, str(m.get("name") or code)))
        else:
            out.append((str(m), str(m)))
    return out


def _event_item_codes(event: Mapping[str, Any]) -> list[str]:
    # The engine records the multi-instance item in the task payload; accept both shapes.
    payload = event.get("payload") or {}
    codes = []
    for part in (payload, payload.get("new") or {}, payload.get("old") or {}):
        if isinstance(part, Mapping):
            item = part.get("item")
            if isinstance(item, Mapping) and item.get("code"):
                codes.append(str(item["code"]))
            elif isinstance(part.get("item_code"), str):
                codes.append(part["item_code"])
    return list(dict.fromkeys(codes))


def to_ocel(cases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The OCEL 2.0 JSON document (a dict; ``json.dumps`` it) of ``cases``.

    Raises ``KeyError`` for a case without ``case_id`` or an event without ``seq``/``type``/
    ``at``; ``xes.XESError`` for an unreadable timestamp.
    """
    objects: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    event_types: set[str] = set()

    def obj(oid: str, otype: str, attrs: list[dict[str, Any]]) -> dict[str, Any]:
        return objects.setdefault(oid, {"id": oid, "type": otype, "attributes": attrs,
                                        "relationships": []})

    def relate(o: dict[str, Any], target: str, qualifier: str) -> None:
        rel = {"objectId": target, "qualifier": qualifier}
        if rel not in o["relationships"]:
            o["relationships"].append(rel)

    for case in cases:
        case_id = str(case["case_id"])
        attrs = case.get("attributes") or {}
        project = obj(f"project:{case_id}", "project", [
            {"name": n, "time": _EPOCH, "value": attrs[n]} for n, _ in _PROJECT_ATTRS
            if attrs.get(n) is not None])
        items: dict[str, str] = {}
        for it in attrs.get("items") or []:
            code = str(it.get("code"))
            iid = f"item:{case_id}:{code}"
            items[code] = iid
            item = obj(iid, "item", [{"name": "name", "time": _EPOCH, "value": it.get("name")},
                                     {"name": "promised_days", "time": _EPOCH,
                                      "value": it.get("promised_days")}])
            relate(project, iid, "has item")
            if it.get("department"):
                did = f"department:{it['department']}"
                obj(did, "department", [{"name": "code", "time": _EPOCH,
                                         "value": it["department"]}])
                relate(item, did, "handled by")
            for mcode, mname in _material_list(it.get("materials")):
                mid = f"material:{case_id}:{mcode}"
                obj(mid, "material", [{"name": "name", "time": _EPOCH, "value": mname}])
                relate(item, mid, "requires")
        for mcode, mname in _material_list(attrs.get("materials")):
            mid = f"material:{case_id}:{mcode}"
            obj(mid, "material", [{"name": "name", "time": _EPOCH, "value": mname}])
            relate(project, mid, "submitted")

        for e in sorted(case.get("events") or [], key=lambda e: e["seq"]):
            event_types.add(str(e["type"]))
            rels = [{"objectId": project["id"], "qualifier": "case"}]
            codes = _event_item_codes(e)
            if e.get("item_id"):  # the task's own approval item, from its work item
                codes = [str(e["item_id"]), *codes]
            for code in dict.fromkeys(codes):
                if code not in items:
                    items[code] = f"item:{case_id}:{code}"
                    relate(project, items[code], "has item")
                obj(items[code], "item", [{"name": "name", "time": _EPOCH,
                                           "value": e.get("item_name") or code}])
                rels.append({"objectId": items[code], "qualifier": "item"})
            departments = [d for d in (e.get("department"), e.get("role"))
                           if isinstance(d, str) and d.startswith("dept_")]
            for dept in dict.fromkeys(departments):
                did = f"department:{dept}"
                obj(did, "department", [{"name": "code", "time": _EPOCH, "value": dept}])
                rels.append({"objectId": did, "qualifier": "handled by"})
            values = {**e, "payload": json.dumps(e.get("payload") or {}, ensure_ascii=False,
                                                 sort_keys=True, default=str)}
            events.append({
                "id": f"event:{e['seq']}" + (f".{e['part']}" if e.get("part") else ""),
                "type": str(e["type"]), "time": xes_datetime(e["at"]),
                "attributes": [{"name": n, "value": values[n]} for n, _ in _EVENT_ATTRS
                               if values.get(n) is not None],
                "relationships": rels,
            })

    return {
        "objectTypes": [
            {"name": "project", "attributes": [{"name": n, "type": t} for n, t in _PROJECT_ATTRS]},
            {"name": "item", "attributes": [{"name": "name", "type": "string"},
                                            {"name": "promised_days", "type": "integer"}]},
            {"name": "department", "attributes": [{"name": "code", "type": "string"}]},
            {"name": "material", "attributes": [{"name": "name", "type": "string"}]},
        ],
        "eventTypes": [{"name": t, "attributes": [{"name": n, "type": ty}
                                                  for n, ty in _EVENT_ATTRS]}
                       for t in sorted(event_types)],
        "objects": list(objects.values()),
        "events": events,
    }
