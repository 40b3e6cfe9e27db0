"""Export cases to XES (IEEE 1849-2016) for process-mining tools (ProM, pm4py, Disco, …).

Each case becomes a trace (``concept:name`` = case id, plus its case attributes); each audit
event an event with the concept, time, lifecycle and org extensions (a fan-out's one audit
event comes as one ``task_created`` per task, ``server.services.exports``). The output validates
against the IEEE 1849-2016 XSD (no XML namespace, ``xes.version`` a decimal).

A case is a mapping ``{"case_id": str, "attributes": {...}, "events": [event, ...]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lxml import etree

XES_VERSION = "1849.2016"
EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)
CLASSIFIERS = (
    ("Activity", "concept:name"),
    ("ActivityLifecycle", "concept:name lifecycle:transition"),
    ("Resource", "org:resource"),
)
# Our event types mapped onto the XES standard lifecycle model's transitions.
LIFECYCLE = {
    "case_started": "start", "case_completed": "complete", "case_terminated": "pi_abort",
    "task_created": "schedule", "task_claimed": "assign", "task_assigned": "assign",
    "task_reassigned": "reassign", "task_unclaimed": "withdraw", "task_completed": "complete",
    "task_cancelled": "ate_abort", "task_skipped": "autoskip", "clock_paused": "suspend",
    "clock_resumed": "resume", "item_referred_upward": "suspend",
    "item_returned_from_referral": "resume",
}
# XML 1.0 cannot hold most C0 controls, lone surrogates or U+FFFE/U+FFFF: lxml refuses them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class XESError(ValueError):
    """An event's timestamp cannot be read."""


def _text(value: Any) -> str:
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str,
                                                        sort_keys=True)
    return _XML_ILLEGAL.sub("\ufffd", s)


def xes_datetime(value: str) -> str:
    """ISO-8601 → xs:dateTime in UTC with milliseconds. Raises ``XESError`` if unreadable."""
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise XESError(f"not an ISO-8601 timestamp: {value!r}") from exc
    if dt.tzinfo is None:  # the audit log is UTC by contract
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")


def _attr(parent: etree._Element, key: str, value: Any) -> None:
    """Append one typed XES attribute; ``None`` values are left out."""
    if value is None:
        return
    if isinstance(value, bool):
        tag, text = "boolean", "true" if value else "false"
    elif isinstance(value, int) and -(2**63) <= value < 2**63:
        tag, text = "int", str(value)
    elif isinstance(value, float) and value == value and abs(value) != float("inf"):
        tag, text = "float", repr(value)
    else:
        tag, text = "string", _text(value)
    etree.SubElement(parent, tag, key=key, value=text)


def _key(name: str) -> str:
    # Attribute keys must be xs:Name; case attributes come from form keys, which normally are.
    k = re.sub(r"[^\w.:-]", "_", name)
    return k if k and not k[0].isdigit() and k[0] not in "-." else f"_{k}"


def event_element(parent: etree._Element, event: Mapping[str, Any]) -> etree._Element:
    """Append the XES ``<event>`` for one audit event. Raises ``XESError`` for a bad time."""
    el = etree.SubElement(parent, "event")
    _attr(el, "concept:name", event.get("element_name") or event.get("element_id")
          or event.get("type"))
    etree.SubElement(el, "date", key="time:timestamp", value=xes_datetime(event["at"]))
    _attr(el, "lifecycle:transition", LIFECYCLE.get(str(event.get("type")), "unknown"))
    _attr(el, "org:resource", event.get("actor"))
    _attr(el, "org:group", event.get("role"))
    for key in ("type", "seq", "case_id", "case_seq", "task_id", "element_id", "item_id",
                "item_name", "department", "leaf_hash"):
        _attr(el, key, event.get(key))
    if event.get("payload"):
        _attr(el, "payload", event["payload"])
    return el


def to_xes(cases: Sequence[Mapping[str, Any]], *, log_name: str = "guanjia") -> bytes:
    """The XES document (UTF-8 bytes) of ``cases``; events sorted by ``seq`` in each trace.

    Raises ``XESError`` for an unreadable timestamp, ``KeyError`` for a case without
    ``case_id`` or an event without ``at``.
    """
    log = etree.Element("log", {"xes.version": XES_VERSION})
    for name, prefix, uri in EXTENSIONS:
        etree.SubElement(log, "extension", name=name, prefix=prefix, uri=uri)
    g_trace = etree.SubElement(log, "global", scope="trace")
    _attr(g_trace, "concept:name", "UNKNOWN")
    g_event = etree.SubElement(log, "global", scope="event")
    _attr(g_event, "concept:name", "UNKNOWN")
    etree.SubElement(g_event, "date", key="time:timestamp", value="1970-01-01T00:00:00.000+00:00")
    _attr(g_event, "lifecycle:transition", "unknown")
    for name, keys in CLASSIFIERS:
        etree.SubElement(log, "classifier", name=name, keys=keys)
    _attr(log, "concept:name", log_name)
    _attr(log, "lifecycle:model", "standard")

    for case in cases:
        trace = etree.SubElement(log, "trace")
        _attr(trace, "concept:name", case["case_id"])
        for k, v in sorted((case.get("attributes") or {}).items()):
            if k != "case_id":
                _attr(trace, _key(str(k)), v)
        for event in sorted(case.get("events") or [], key=lambda e: e["seq"]):
            event_element(trace, event)
    return bytes(etree.tostring(log, xml_declaration=True, encoding="UTF-8", pretty_print=True))
