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
#: Camunda's ways to call Java or an expression from a task; guanjia implements none.
_IMPLEMENTATIONS = ("delegateExpression", "class", "expression")


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
    def __init__(self, spec_set: SpecSet, groups: Mapping[str, str], forms: set[str],
                 users: set[str] | None = None) -> None:
        self.spec_set = spec_set
        self.groups = groups
        self.users = users
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
    def user_task(self, node: etree._Element) -> None:
        form = _camunda(node, "formKey")
        if form and form not in self.forms:
            self.add(node, f"form {form!r} does not exist (forms/{form}.form)")
        self.takers(node, "user task")
        for attr in ("assignee", "dueDate", "candidateUsers"):
            value = _camunda(node, attr)
            inner = _unwrap(value) if value else None
            if inner is not None:
                self.expression(node, inner, attr)

    def takers(self, node: etree._Element, what: str) -> None:
        """Someone must be able to take the task: a known group or a known assignee.

        Lanes route no work at run time (a task's takers are its candidate groups and its
        assignee, ``server/services/access.py``), so a lane is no substitute; and
        ``camunda:candidateUsers`` is not read by guanjia. An expression cannot be known
        here: it is compiled now and evaluated when the case reaches the task.
        """
        groups, assignee = _camunda(node, "candidateGroups"), _camunda(node, "assignee")
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
        if assignee and _unwrap(assignee) is None and self.users is not None \
                and assignee not in self.users:
            self.add(node, f"assignee {assignee!r} is not a user of this installation")
        if not groups and not assignee:
            extra = " (camunda:candidateUsers is not supported)" \
                if _camunda(node, "candidateUsers") else ""
            self.add(node, f"{what} names no candidate group and no assignee, so no one "
                           f"could take it{extra}; set camunda:candidateGroups")

    def unimplemented(self, node: etree._Element, kind: str) -> None:
        """Service and send tasks: guanjia runs none (no Java delegates, no external workers)."""
        how = next((f"camunda:{a}={_camunda(node, a)!r}" for a in _IMPLEMENTATIONS
                    if _camunda(node, a)), None)
        if how is None and _camunda(node, "type") == "external":
            how = f"external topic {_camunda(node, 'topic') or ''!r}"
        label = {"serviceTask": "service task", "sendTask": "send task"}[kind]
        self.add(node, f"{label} {'with ' + how + ' ' if how else ''}has no implementation "
                       "in guanjia, so a case reaching it would stall; use a script task, a "
                       "user task or a message throw event")

    def bpmn(self, root: etree._Element) -> None:
        for node in root.iter():
            kind = _local(node)
            if kind == "userTask":
                self.user_task(node)
            elif kind in {"task", "manualTask"}:
                # The library makes both into work for a person, but only a user task's
                # camunda:candidateGroups/assignee are read: no one could ever take it.
                label = "manual task" if kind == "manualTask" else "plain task"
                self.add(node, f"{label} would become work no group can take (guanjia routes "
                               "only user tasks); make it a user task with "
                               "camunda:candidateGroups")
            elif kind in {"serviceTask", "sendTask"}:
                self.unimplemented(node, kind)
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
                how = next((a for a in _IMPLEMENTATIONS if _camunda(node, a)), None)
                if how and not ref:
                    self.add(node, f"business rule task with camunda:{how} has no "
                                   "implementation in guanjia; name a DMN decision "
                                   "(camunda:decisionRef)")
                elif ref and ref not in self.decisions:
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


def check_model(spec_set: SpecSet, *, groups: Mapping[str, str], forms: Iterable[str],
                users: Iterable[str] | None = None) -> list[Problem]:
    """Every fault our rules find in a parsed set, in file order; empty when it may deploy.

    ``groups`` maps each existing group code to its name; ``forms`` holds the form ids;
    ``users`` the user names a literal assignee must be one of (None: not checked).
    """
    return _Checker(spec_set, groups, set(forms),
                    None if users is None else set(users)).run()


def check_raw_files(raw: Mapping[str, bytes | str], *, groups: Mapping[str, str],
                    forms: Iterable[str], max_bytes: int,
                    users: Iterable[str] | None = None) -> list[Problem]:
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
    return check_model(SpecSet(content_hash="", files=sources), groups=groups, forms=forms,
                       users=users)
