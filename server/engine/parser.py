"""Reading BPMN/DMN into SpiffWorkflow specs, with the Camunda attributes the library skips.

SpiffWorkflow's ``CamundaParser`` reads ``camunda:formKey`` and ``camunda:properties`` but not
``camunda:candidateGroups``, ``camunda:assignee`` or ``camunda:dueDate``; the task parsers
here put those into ``task_spec.extensions`` so diagrams made in Camunda Modeler run as drawn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnValidator
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import CallActivity
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS,
    BusinessRuleTaskParser,
    CallActivityParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from server.engine import library
from server.engine.errors import DiagramError
from server.engine.xml import DEFAULT_MAX_BYTES, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_CAMUNDA_ATTRS = ("formKey", "candidateGroups", "candidateUsers", "assignee", "dueDate",
                  "priority")


def _camunda_attributes(node: etree._Element) -> dict[str, str]:
    found = {}
    for attr in _CAMUNDA_ATTRS:
        value = node.get(f"{{{CAMUNDA_MODEL_NS}}}{attr}")
        if value is not None:
            found[attr] = value
    return found


class GuanjiaUserTaskParser(UserTaskParser):  # type: ignore[misc]
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)
        extensions.update(_camunda_attributes(self.node if node is None else node))
        return extensions


class GuanjiaBusinessRuleTaskParser(BusinessRuleTaskParser):  # type: ignore[misc]
    def create_task(self) -> Any:
        if self.node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef") is None:
            # The library raises a bare KeyError here; say what is missing and where.
            raise ValidationException(
                "a business rule task needs camunda:decisionRef naming a DMN decision",
                node=self.node, file_name=self.filename)
        return super().create_task()


class GuanjiaCallActivityParser(CallActivityParser):  # type: ignore[misc]
    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        # Camunda's reading writes the unchanged element back into the collection and drops
        # each instance's output; when the diagram carries the standard BPMN loop references
        # (loopDataInputRef/outputDataItem), read those so results are collected in order.
        if loop_characteristics.find(f"{{{BPMN_NS}}}loopDataInputRef") is not None:
            library.read_standard_loop_references(self, loop_characteristics)
        else:
            super()._add_multiinstance_task(loop_characteristics)


class GuanjiaParser(CamundaParser):  # type: ignore[misc]
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("callActivity"): (GuanjiaCallActivityParser, CallActivity),
        full_tag("userTask"): (GuanjiaUserTaskParser, UserTask),
        full_tag("businessRuleTask"): (GuanjiaBusinessRuleTaskParser, BusinessRuleTask),
    }


@dataclass(frozen=True)
class SourceFile:
    name: str
    kind: str  # bpmn | dmn
    content: str
    sha256: str


@dataclass
class SpecSet:
    """Every executable process of one deployment, parsed once and shared by its cases."""

    content_hash: str
    files: list[SourceFile]
    specs: dict[str, Any] = field(default_factory=dict)
    subprocess_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    start_forms: dict[str, str] = field(default_factory=dict)

    def process_ids(self) -> list[str]:
        return sorted(self.specs)

    def form_keys(self) -> dict[str, str]:
        """Every formKey used by a user task or start event, mapped to its element id."""
        keys: dict[str, str] = {}
        for process_id, spec in self.specs.items():
            for task_spec in spec.task_specs.values():
                ext = getattr(task_spec, "extensions", None) or {}
                form = getattr(task_spec, "form", None)
                key = ext.get("formKey") or getattr(form, "key", None)
                if key:
                    keys.setdefault(key, task_spec.name)
            if process_id in self.start_forms:
                keys.setdefault(self.start_forms[process_id], f"{process_id} start event")
        return keys


def file_kind(name: str) -> str:
    if name.endswith(".bpmn") or name.endswith(".bpmn20.xml"):
        return "bpmn"
    if name.endswith(".dmn"):
        return "dmn"
    raise DiagramError("only .bpmn and .dmn files can be deployed", file=name)


def bundle_hash(files: list[SourceFile]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        digest.update(f.name.encode() + b"\0" + f.sha256.encode() + b"\n")
    return digest.hexdigest()


def _diagram_error(exc: SpiffWorkflowException, default_file: str | None = None) -> DiagramError:
    line = getattr(exc, "line_number", None)
    return DiagramError(
        str(exc.args[0]) if exc.args else str(exc),
        file=getattr(exc, "file_name", None) or default_file,
        line=int(line) if isinstance(line, int) or (isinstance(line, str) and line.isdigit())
        else None,
        element_id=getattr(exc, "id", None) or None,
    )


_PARSED: dict[str, SpecSet] = {}


def _check_decision_refs(source: SourceFile, tree: etree._ElementTree) -> None:
    # The library looks the attribute up with a bare KeyError in several places.
    for node in tree.getroot().iter(f"{{{BPMN_NS}}}businessRuleTask"):
        if node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef") is None:
            raise DiagramError(
                "a business rule task needs camunda:decisionRef naming a DMN decision",
                file=source.name, line=node.sourceline, element_id=node.get("id"))


def parse_files(raw: Mapping[str, bytes | str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> SpecSet:
    """Parse and validate a set of BPMN/DMN files; raises ``DiagramError`` on the first fault.

    A set already parsed in this process (same names, same bytes) is returned from memory:
    specs are immutable once parsed, and cases of one deployment share them.
    """
    if not raw:
        raise DiagramError("no BPMN or DMN files given")
    encoded = {n: c.encode("utf-8") if isinstance(c, str) else c for n, c in raw.items()}
    key = hashlib.sha256(b"".join(
        n.encode() + b"\0" + hashlib.sha256(c).digest() for n, c in sorted(encoded.items())
    ) + str(max_bytes).encode()).hexdigest()
    cached = _PARSED.get(key)
    if cached is None:
        cached = _parse_files(encoded, max_bytes=max_bytes)
        _PARSED[key] = cached
    return cached


def _parse_files(raw: dict[str, bytes], *, max_bytes: int) -> SpecSet:
    files: list[SourceFile] = []
    trees: list[tuple[SourceFile, etree._ElementTree]] = []
    for name, content in sorted(raw.items()):
        kind = file_kind(name)
        data = content.encode("utf-8") if isinstance(content, str) else content
        tree = parse_xml(data, name=name, max_bytes=max_bytes)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DiagramError("file is not UTF-8", file=name) from exc
        source = SourceFile(name, kind, text, hashlib.sha256(data).hexdigest())
        files.append(source)
        trees.append((source, tree))

    for source, tree in trees:
        _check_decision_refs(source, tree)
    parser = GuanjiaParser(validator=BpmnValidator())
    try:
        for source, tree in trees:
            if source.kind == "dmn":
                parser.add_dmn_xml(tree.getroot(), filename=source.name)
        for source, tree in trees:
            if source.kind == "bpmn":
                parser.add_bpmn_xml(tree, filename=source.name)
        process_ids = parser.get_process_ids()
        if not process_ids:
            raise DiagramError("no executable process (isExecutable=\"true\") in the files")
        spec_set = SpecSet(content_hash=bundle_hash(files), files=files)
        for process_id in process_ids:
            spec_set.specs[process_id] = parser.get_spec(process_id)
            spec_set.subprocess_specs[process_id] = parser.get_subprocess_specs(process_id)
            node = parser.get_process_parser(process_id).node
            spec_set.names[process_id] = node.get("name") or process_id
            for start in node.findall(f"{{{BPMN_NS}}}startEvent"):
                form_key = start.get(f"{{{CAMUNDA_MODEL_NS}}}formKey")
                if form_key:
                    spec_set.start_forms[process_id] = form_key
    except SpiffWorkflowException as exc:
        raise _diagram_error(exc) from exc
    except KeyError as exc:
        raise DiagramError(f"a referenced element is missing: {exc}") from exc
    connect_multi_instance_merges(spec_set)
    return spec_set


def connect_multi_instance_merges(spec_set: SpecSet) -> None:
    """Wire each multi-instance body's completion to its parent's merge, up front, so a case
    restored onto freshly parsed specs sees its instances merge (docs/engine.md §6)."""
    all_specs = list(spec_set.specs.values())
    for subs in spec_set.subprocess_specs.values():
        all_specs.extend(s for s in subs.values() if s is not None)
    library.connect_multi_instance_merges(all_specs)
