"""Checks a deployment must pass beyond the library's parse, each naming element and line.

SpiffWorkflow accepts a diagram whose condition has a syntax error, whose timer reads
``PT-5X`` or whose user task goes to a group nobody belongs to; each would only fail when a
case reaches that element, possibly weeks later. These checks find them at deployment time,
all at once, so a designer can fix every fault in one pass.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from server.engine.errors import DiagramError
from server.engine.parser import SourceFile, SpecSet, file_kind
from server.engine.scripting import compile_expression, compile_script
from server.engine.xml import parse_xml

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")


@dataclass(frozen=True)
class Problem:
    """One fault in one element of one file."""

    message: str
    element_id: str | None = None
    file: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"message": self.message, "element_id": self.element_id, "file": self.file,
                "line": self.line}


def _local(node: etree._Element) -> str:
    tag = node.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _camunda(node: etree._Element, attr: str) -> str | None:
    value = node.get(f"{{{CAMUNDA_NS}}}{attr}")
    return value if value is None else value.strip()


def _owner(node: etree._Element) -> etree._Element:
    """The nearest ancestor-or-self with an id: the element a designer can click."""
    current: etree._Element | None = node
    while current is not None and current.get("id") is None:
        current = current.getparent()
    return current if current is not None else node


def _unwrap(text: str) -> str | None:
    """The Python inside a Camunda ``${…}``, or None when the text is a literal."""
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return None


def check_timer_text(kind: str, text: str) -> str | None:
    """Why a timer expression cannot work, or None; literal ISO strings are parsed now."""
    text = (text or "").strip()
    if not text:
        return f"{kind} is empty"
    try:
        compile_expression(text)
    except DiagramError as exc:
        return f"{kind} {text!r} is not a valid expression ({exc.message}); " \
               f"write a quoted ISO-8601 value such as \"PT30M\""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None  # computed when the case reaches the timer (a variable or function)
    if not isinstance(value, str):
        return f"{kind} {text!r} must yield an ISO-8601 string"
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            datetime.fromisoformat(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # the library raises bare Exception for a bad duration
        example = {"timeDuration": "PT30M", "timeDate": "2026-12-01T09:00:00+08:00",
                   "timeCycle": "R3/PT10M"}[kind]
        return f"{kind} {value!r} is not a valid ISO-8601 value (e.g. {example!r})"
    return None


class _Checker:
    def __init__(self, spec_set: SpecSet, groups: Mapping[str, str], forms: set[str]) -> None:
        self.spec_set = spec_set
        self.groups = groups
        self.forms = forms
        self.problems: list[Problem] = []
        self.file = ""
        self.process_ids: set[str] = set(spec_set.specs)
        self.decisions: set[str] = set()

    def add(self, node: etree._Element, message: str) -> None:
        owner = _owner(node)
        self.problems.append(Problem(message, owner.get("id"), self.file,
                                     node.sourceline or owner.sourceline))

    def expression(self, node: etree._Element, text: str, what: str) -> None:
        try:
            compile_expression(text)
        except DiagramError as exc:
            self.add(node, f"{what}: {exc.message}")

    # ---- BPMN ------------------------------------------------------------------------
    def lane_groups(self, root: etree._Element) -> dict[str, str | None]:
        """Element id → the group code its lane maps to (None: the lane maps to no group)."""
        by_name = {name: code for code, name in self.groups.items()}
        mapped: dict[str, str | None] = {}
        for lane in root.iter():
            if _local(lane) != "lane":
                continue
            lane_id, name = lane.get("id", ""), (lane.get("name") or "").strip()
            code = next((c for c in (lane_id.removeprefix("lane_"), name, by_name.get(name))
                         if c and c in self.groups), None)
            for ref in lane:
                if _local(ref) == "flowNodeRef" and ref.text:
                    mapped[ref.text.strip()] = code
        return mapped

    def user_task(self, node: etree._Element, lanes: dict[str, str | None]) -> None:
        form = _camunda(node, "formKey")
        if form and form not in self.forms:
            self.add(node, f"form {form!r} does not exist (forms/{form}.form)")
        groups = _camunda(node, "candidateGroups")
        if groups:
            inner = _unwrap(groups)
            if inner is not None:
                self.expression(node, inner, "candidateGroups")
            else:
                unknown = [g.strip() for g in groups.split(",")
                           if g.strip() and g.strip() not in self.groups]
                if unknown:
                    self.add(node, f"candidate group {', '.join(unknown)} does not exist "
                                   f"(known groups: {', '.join(sorted(self.groups))})")
        elif not _camunda(node, "assignee") and lanes.get(node.get("id", "")) is None:
            self.add(node, "user task has no candidate group and its lane maps to no group; "
                           "set camunda:candidateGroups")
        for attr in ("assignee", "dueDate", "candidateUsers"):
            value = _camunda(node, attr)
            inner = _unwrap(value) if value else None
            if inner is not None:
                self.expression(node, inner, attr)

    def bpmn(self, root: etree._Element) -> None:
        lanes = self.lane_groups(root)
        for node in root.iter():
            kind = _local(node)
            if kind == "userTask":
                self.user_task(node, lanes)
            elif kind == "startEvent":
                form = _camunda(node, "formKey")
                if form and form not in self.forms:
                    self.add(node, f"form {form!r} does not exist (forms/{form}.form)")
            elif kind in _TIMER_KINDS:
                reason = check_timer_text(kind, node.text or "")
                if reason:
                    self.add(node, f"timer {reason}")
            elif kind in {"conditionExpression", "completionCondition", "loopCardinality"}:
                if (node.text or "").strip():
                    self.expression(node, node.text or "", "condition" if kind ==
                                    "conditionExpression" else kind)
            elif kind == "script" and _local(node.getparent()) == "scriptTask":
                try:
                    compile_script(node.text or "")
                except DiagramError as exc:
                    self.add(node, exc.message)
            elif kind == "callActivity":
                called = (node.get("calledElement") or "").strip()
                if not called:
                    self.add(node, "call activity names no calledElement")
                elif called not in self.process_ids:
                    self.add(node, f"called process {called!r} is not in this deployment")
            elif kind == "businessRuleTask":
                ref = _camunda(node, "decisionRef")
                if ref and ref not in self.decisions:
                    self.add(node, f"decision {ref!r} is not in this deployment")

    # ---- DMN -------------------------------------------------------------------------
    def dmn(self, root: etree._Element) -> None:
        for node in root.iter():
            kind = _local(node)
            if kind == "inputExpression":
                text = "".join(t.text or "" for t in node if _local(t) == "text").strip()
                if text:
                    self.expression(node, text, "input expression")
            elif kind == "outputEntry":
                text = "".join(t.text or "" for t in node if _local(t) == "text").strip()
                if text and text != "-":
                    self.expression(node, text, "output entry")

    def run(self) -> list[Problem]:
        trees = [(f, parse_xml(f.content, name=f.name, max_bytes=len(f.content.encode()) + 1))
                 for f in self.spec_set.files]
        for _source, tree in trees:
            for node in tree.getroot().iter():
                if _local(node) == "decision" and node.get("id"):
                    self.decisions.add(node.get("id", ""))
                elif _local(node) == "process" and node.get("id"):
                    self.process_ids.add(node.get("id", ""))
        for source, tree in trees:
            self.file = source.name
            (self.dmn if source.kind == "dmn" else self.bpmn)(tree.getroot())
        return self.problems


def check_model(spec_set: SpecSet, *, groups: Mapping[str, str],
                forms: Iterable[str]) -> list[Problem]:
    """Every fault our rules find in a parsed set, in file order; empty when it may deploy.

    ``groups`` maps each existing group code to its name; ``forms`` holds the form ids.
    """
    return _Checker(spec_set, groups, set(forms)).run()


def check_raw_files(raw: Mapping[str, bytes | str], *, groups: Mapping[str, str],
                    forms: Iterable[str], max_bytes: int) -> list[Problem]:
    """Our checks on files the library refused, to name the element its message leaves out.

    Returns nothing when a file is not even well-formed XML (the parse error says enough).
    """
    sources = []
    for name, content in raw.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        try:
            parse_xml(text, name=name, max_bytes=max_bytes)
            sources.append(SourceFile(name, file_kind(name), text,
                                      hashlib.sha256(text.encode()).hexdigest()))
        except DiagramError:
            return []
    return check_model(SpecSet(content_hash="", files=sources), groups=groups, forms=forms)
