"""What a case page reads: its summary, diagram, node progress, decisions and submitted forms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import (
    AuditEvent,
    Case,
    Deployment,
    WorkItem,
)
from server.services.task_rows import Row, approval_item, row_for, task_title

# The one query of "tasks this user may work on"; shared so the list and the API agree.


def case_summary(case: Case) -> dict[str, Any]:
    try:
        summary: dict[str, Any] = json.loads(case.summary or "{}")
    except ValueError:
        summary = {}
    return summary


@dataclass
class Diagram:
    xml: str | None
    done: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)


def diagram_for(case: Case, items: list[WorkItem], history: list[AuditEvent]) -> Diagram:
    """The case's process diagram with done / active / overdue element ids."""
    deployment = db.session.get(Deployment, case.deployment_id)
    xml = None
    if deployment is not None:
        marker = f'id="{case.process_id}"'
        for f in deployment.files:
            if f.kind == "bpmn" and marker in f.content:
                xml = f.content
                break
    now = clock.now()
    # Tasks of a called process (a department's item) are drawn on the call activity that
    # runs them: the case page shows only the main diagram.
    outer = _called_elements(deployment, xml) if deployment is not None and xml else {}

    def top(element_id: str) -> str:
        return outer.get(element_id, element_id)

    done = {top(i.element_id) for i in items if i.state == "completed"}
    done |= {top(e.element_id) for e in history if e.type == "task_completed" and e.element_id}
    active = sorted({top(i.element_id) for i in items if i.state == "ready"})
    overdue = sorted({top(i.element_id) for i in items
                      if i.state == "ready" and i.due_at is not None and i.due_at < now})
    return Diagram(xml, sorted(done - set(active)), active, overdue)


BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


_CALLED: dict[int, dict[str, str]] = {}  # by the hash of the deployment's BPMN texts


def _called_elements(deployment: Deployment, main_xml: str) -> dict[str, str]:
    """Element id of a called process → the main diagram's call activity that calls it.

    A deployment never changes, so the answer is kept per deployment's content (ids alone
    repeat across databases, e.g. two apps in one process).
    """
    key = hash(tuple(f.content for f in deployment.files if f.kind == "bpmn"))
    if key in _CALLED:
        return _CALLED[key]

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    main = etree.fromstring(main_xml.encode(), parser)
    in_main = {str(el.get("id")) for el in main.iter() if el.get("id")}
    calls = {str(c.get("calledElement")): str(c.get("id"))
             for c in main.iter(f"{BPMN_NS}callActivity")}
    mapping: dict[str, str] = {}
    for f in deployment.files:
        if f.kind != "bpmn":
            continue
        for proc in etree.fromstring(f.content.encode(), parser).iter(f"{BPMN_NS}process"):
            call = calls.get(str(proc.get("id")))
            if call is None:
                continue
            for el in proc.iter():
                element_id = el.get("id")
                if element_id and element_id not in in_main:
                    mapping[str(element_id)] = call
    _CALLED[key] = mapping
    return mapping


@dataclass
class Node:
    """One step of a case as the enterprise and the supervisors follow it (节点查询)."""

    name: str
    stage: str
    state: str
    groups: list[str]
    started_at: datetime
    due_at: datetime | None
    finished_at: datetime | None
    who: str | None
    row: Row


def progress(case: Case, items: list[WorkItem]) -> list[Node]:
    now = clock.now()
    nodes = []
    for item in sorted(items, key=lambda i: i.created_at):
        nodes.append(Node(task_title(item), item.stage, item.state,
                          item.group_codes, item.created_at, item.due_at, item.completed_at,
                          item.completed_by or item.claimed_by, row_for(item, now)))
    return nodes


def decisions(case: Case) -> list[AuditEvent]:
    """Completed tasks of the case, oldest first (the earlier decisions a task page shows)."""
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id,
                                 AuditEvent.type == "task_completed")
        .order_by(AuditEvent.case_seq)).scalars())


@dataclass
class Submission:
    """One completed task of a form: its row, the data submitted, the approval item it served."""

    item: WorkItem
    data: dict[str, Any]
    approval_item: dict[str, Any]


def submissions(case: Case, form_key: str) -> list[Submission]:
    """Every completed task of ``form_key`` in the case with its data, in submission order.

    A department's form is submitted once per approval item; the item (code, name,
    department) is the one its row was opened for. Order follows the audit trail, which is
    strict even when several tasks complete within the same second.
    """
    items = {i.id: i for i in db.session.execute(
        select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.form_key == form_key,
                               WorkItem.state == "completed")
        .order_by(WorkItem.completed_at, WorkItem.id)).scalars()}
    if not items:
        return []
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id,
                                 AuditEvent.type == "task_completed",
                                 AuditEvent.task_id.in_(list(items)))
        .order_by(AuditEvent.case_seq)).scalars()
    data: dict[str, dict[str, Any]] = {}
    for event in events:  # the last completion of a task wins, at its place in the order
        data.pop(str(event.task_id), None)
        data[str(event.task_id)] = dict((event.payload or {}).get("new") or {})
    # A task whose completion the trail lacks would still print, after the others.
    ordered = [items[i] for i in data] + [i for i in items.values() if i.id not in data]
    return [Submission(i, data.get(i.id, {}), approval_item(i)) for i in ordered]


def completed_form_keys(case: Case) -> list[str]:
    return sorted({k for k in db.session.execute(
        select(WorkItem.form_key).where(WorkItem.case_id == case.id,
                                        WorkItem.state == "completed")).scalars() if k})


def form_keys_of(items: list[WorkItem]) -> dict[str, str]:
    """task id → form key, to label the values of earlier decisions."""
    return {i.id: i.form_key for i in items}
