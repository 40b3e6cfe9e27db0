"""The one hardened XML parser: no DTD, no entities, no network, a size limit."""

from __future__ import annotations

import pytest

from server.engine.errors import DiagramError
from server.engine.xml import parse_xml


def test_external_entity_is_refused_with_its_line() -> None:
    doc = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>'
    with pytest.raises(DiagramError) as info:
        parse_xml(doc, name="xxe.bpmn")
    assert info.value.line == 2 and info.value.file == "xxe.bpmn"


def test_billion_laughs_is_refused_before_expansion() -> None:
    lol = b"<!ENTITY a \"" + b"&b;" * 10 + b"\">"
    with pytest.raises(DiagramError, match="DTD"):
        parse_xml(b"<!DOCTYPE x [" + lol + b"]><x>&a;</x>", name="laughs.bpmn")


def test_size_limit_names_the_limit() -> None:
    with pytest.raises(DiagramError, match="over the limit of 1,000 bytes"):
        parse_xml(b"<x>" + b" " * 2000 + b"</x>", name="big.bpmn", max_bytes=1000)


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(DiagramError) as info:
        parse_xml(b"<a>\n<b>\n</a>", name="broken.bpmn")
    assert info.value.line in (2, 3)
    assert "malformed" in info.value.message


def test_well_formed_xml_parses() -> None:
    tree = parse_xml("<a><b>中文</b></a>", name="ok.bpmn")
    assert tree.getroot().findtext("b") == "中文"
