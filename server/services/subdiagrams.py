"""The diagrams of a case's called processes, one per approval item, with their markers.

The case page draws the main process and marks a call activity (部门并联办理) for all the
items it runs; opening one item shows the called process (department_item) with that item's
own done / active / overdue steps.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from server.engine import clock
from server.extensions import db
from server.models import Case, Deployment, WorkItem

BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _processes(deployment: Deployment) -> dict[str, tuple[str, set[str]]]:
    """process id → (the BPMN text defining it, its element ids)."""

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    found: dict[str, tuple[str, set[str]]] = {}
    for f in deployment.files:
        if f.kind != "bpmn":
            continue
        for proc in etree.fromstring(f.content.encode(), parser).iter(f"{BPMN_NS}process"):
            found[str(proc.get("id"))] = (f.content, {str(e.get("id")) for e in proc.iter()
                                                      if e.get("id")})
    return found


def _calls(xml: str) -> dict[str, tuple[str, str]]:
    """calledElement → (call activity id, its name) in the main process."""

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml.encode(), parser)
    return {str(c.get("calledElement")): (str(c.get("id")), str(c.get("name") or ""))
            for c in root.iter(f"{BPMN_NS}callActivity")}


def item_diagrams(case: Case, items: list[WorkItem]) -> dict[str, Any]:
    """{"xml": {process: text}, "items": [{call, code, name, process, done, active, overdue}]}
    for every approval item that has steps in a called process; empty when there is none."""
    deployment = db.session.get(Deployment, case.deployment_id)
    if deployment is None:
        return {"xml": {}, "items": []}
    processes = _processes(deployment)
    main = processes.get(case.process_id)
    if main is None:
        return {"xml": {}, "items": []}
    now = clock.now()
    out: dict[str, Any] = {"xml": {}, "items": []}
    for called, (call_id, call_name) in sorted(_calls(main[0]).items()):
        if called not in processes:
            continue
        xml, ids = processes[called]
        by_item: dict[str, dict[str, Any]] = {}
        for i in sorted(items, key=lambda w: w.created_at):
            if i.element_id not in ids:
                continue
            item = (json.loads(i.context or "{}") or {}).get("item") or {}
            code = str(item.get("code") or "")
            entry = by_item.setdefault(code, {
                "call": call_id, "call_name": call_name, "code": code,
                "name": str(item.get("name") or code), "process": called,
                "done": [], "active": [], "overdue": []})
            if i.state == "ready":
                entry["active"].append(i.element_id)
                if i.due_at is not None and i.due_at < now:
                    entry["overdue"].append(i.element_id)
            elif i.state == "completed":
                entry["done"].append(i.element_id)
        if by_item:
            out["xml"][called] = xml
            for entry in by_item.values():
                entry["done"] = sorted(set(entry["done"]) - set(entry["active"]))
                out["items"].append(entry)
    return out
