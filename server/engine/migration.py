"""Comparing two versions of a process library and moving a running case between them.

A case's state is rows of serialized tasks that name their task spec; the specs themselves
come from the deployment. Restoring the same rows against a newer deployment's specs moves
the case, and that is safe when every element the case has already done or is doing exists
unchanged in the new version: what lies ahead may change freely, since the engine looks a
task's spec up by name only when it gets there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.task import TaskState

from server.engine.parser import SourceFile, SpecSet
from server.engine.runtime import ENVELOPE, TOP, Engine, Runtime
from server.engine.xml import parse_xml

# Flow structure is carried by the sequence flows themselves; a task whose outgoing flow
# now leads elsewhere has not changed what it does.
_STRUCTURE_ONLY = {"incoming", "outgoing"}
_CONTAINERS = {"process": "process", "decision": "decision"}
_STATE_NAMES = {TaskState.COMPLETED: "completed", TaskState.READY: "active",
                TaskState.WAITING: "waiting", TaskState.STARTED: "active",
                TaskState.ERROR: "failed", TaskState.CANCELLED: "cancelled"}
_DONE_OR_ACTIVE = (TaskState.COMPLETED | TaskState.READY | TaskState.WAITING
                   | TaskState.STARTED | TaskState.ERROR)


@dataclass
class ElementDiff:
    """What changed inside one process or decision, by element id."""

    kind: str  # process | decision
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "added": self.added, "removed": self.removed,
                "changed": self.changed}


def _local(node: Any) -> str:
    return etree.QName(node.tag).localname if isinstance(node.tag, str) else ""


def _signature(node: etree._Element) -> Any:
    """What an element says, without its own children that carry ids (compared apart)."""
    attrs = tuple(sorted((k, v) for k, v in node.attrib.items()))
    parts = []
    for child in node:
        if not isinstance(child.tag, str) or child.get("id") is not None:
            continue
        if _local(child) in _STRUCTURE_ONLY:
            continue
        parts.append(_signature(child))
    return (_local(node), attrs, (node.text or "").strip(), tuple(parts))


def _elements(files: Iterable[SourceFile]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Container id → (kind, {element id: signature}) for every process and decision."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for source in files:
        root = parse_xml(source.content, name=source.name,
                         max_bytes=len(source.content.encode()) + 1).getroot()
        for container in root.iter():
            kind = _CONTAINERS.get(_local(container))
            if kind is None or not container.get("id"):
                continue
            elements = {node.get("id"): _signature(node) for node in container.iter()
                        if isinstance(node.tag, str) and node.get("id") and node is not container}
            elements[container.get("id")] = _signature(container)
            found[container.get("id", "")] = (kind, elements)
    return found


def diff_files(old: Sequence[SourceFile], new: Sequence[SourceFile]) -> dict[str, ElementDiff]:
    """Per process and decision id: the elements added, removed and changed from old to new."""
    before, after = _elements(old), _elements(new)
    result: dict[str, ElementDiff] = {}
    for container in sorted(set(before) | set(after)):
        kind = (after.get(container) or before[container])[0]
        old_elements = before.get(container, (kind, {}))[1]
        new_elements = after.get(container, (kind, {}))[1]
        diff = ElementDiff(kind)
        diff.added = sorted(set(new_elements) - set(old_elements))
        diff.removed = sorted(set(old_elements) - set(new_elements))
        diff.changed = sorted(e for e in set(old_elements) & set(new_elements)
                              if old_elements[e] != new_elements[e])
        result[container] = diff
    return result


@dataclass
class MigrationPlan:
    """Whether a case may move, and why not."""

    blockers: list[str] = field(default_factory=list)
    elements: list[str] = field(default_factory=list)  # done or active element ids

    @property
    def safe(self) -> bool:
        return not self.blockers


def _spec_of(spec_set: SpecSet, process_id: str, name: str) -> Any:
    if name == process_id:
        return spec_set.specs.get(process_id)
    return (spec_set.subprocess_specs.get(process_id) or {}).get(name)


def plan_migration(engine: Engine, old: SpecSet, new: SpecSet, process_id: str,
                   envelope: str, rows: Sequence[tuple[str, str, str]],
                   version: int) -> MigrationPlan:
    """Check that a case's rows fit the new version, element by element, then try it."""
    plan = MigrationPlan()
    if process_id not in new.specs:
        plan.blockers.append(f"process {process_id!r} is not in the new version")
        return plan
    changed: set[str] = set()
    for diff in diff_files(old.files, new.files).values():
        changed.update(diff.changed)
        changed.update(diff.removed)
    workflow_spec = {TOP: process_id}
    for row_id, wf_key, body in rows:
        if wf_key == ENVELOPE:
            workflow_spec[row_id[2:]] = json.loads(body)["spec"]
    for _row_id, wf_key, body in rows:
        if wf_key == ENVELOPE:
            continue
        task = json.loads(body)
        spec_name = workflow_spec.get(wf_key, "")
        old_spec, new_spec = _spec_of(old, process_id, spec_name), _spec_of(new, process_id,
                                                                             spec_name)
        if new_spec is None:
            plan.blockers.append(f"process {spec_name!r}, which the case is running, is not "
                                 "in the new version")
            continue
        name, state = task["task_spec"], int(task["state"])
        old_task = old_spec.task_specs.get(name) if old_spec is not None else None
        new_task = new_spec.task_specs.get(name)
        element = getattr(old_task, "bpmn_id", None) or name
        label = _STATE_NAMES.get(state, "planned")
        if new_task is None:
            plan.blockers.append(f"element {element!r} ({label}) was removed")
            continue
        if old_task is not None and type(old_task) is not type(new_task):
            plan.blockers.append(f"element {element!r} ({label}) changed its type from "
                                 f"{type(old_task).__name__} to {type(new_task).__name__}")
            continue
        if state & _DONE_OR_ACTIVE and getattr(old_task, "bpmn_id", None):
            plan.elements.append(element)
            if element in changed:
                plan.blockers.append(f"element {element!r} is {label} in this case and was "
                                     "changed in the new version")
    plan.blockers = list(dict.fromkeys(plan.blockers))
    plan.elements = sorted(set(plan.elements))
    if plan.safe:
        try:
            engine.restore(new, process_id, envelope, rows, version)
        except Exception as exc:  # any failure to rebuild means the case must stay
            plan.blockers.append(f"the case's state does not restore on the new version: {exc}")
    return plan


def rebase(engine: Engine, new: SpecSet, process_id: str, envelope: str,
           rows: Sequence[tuple[str, str, str]], version: int) -> Runtime:
    """The case's live workflow on the new version's specs (after ``plan_migration``)."""
    return engine.restore(new, process_id, envelope, rows, version)
