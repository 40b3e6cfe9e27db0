"""Masking personal data in exports (《个人信息保护法》 art. 51: measures such as
de-identification; art. 6: no more than the purpose needs).

Process mining needs who *did* what (staff accounts), not the enterprise's contact people:
names, phone numbers and ID numbers in form data and case attributes are masked unless an
auditor with the right asks for them (``server.services.exports``, which audits the request).
Pure functions; they never change their input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Form keys that hold a person's name, phone, ID number or mail: contact people, signatories,
# legal representatives. Project, enterprise, item and element names are not personal.
_PERSONAL_KEY = re.compile(
    r"(phone|mobile|tel(ephone)?\b|contact|signatory|signer|id_?(card|number|no)\b|"
    r"identity|legal_rep|representative|person_name|email|mail_address|householder)",
    re.IGNORECASE)
_EDGE = r"(?<![0-9A-Za-z])"
_END = r"(?![0-9A-Za-z])"
_ID_NUMBER = re.compile(_EDGE + r"\d{6}(?:19|20)\d{9}[\dXx]" + _END)
_MOBILE = re.compile(_EDGE + r"(?:\+?86[- ]?)?1[3-9]\d{9}" + _END)
_LANDLINE = re.compile(_EDGE + r"0\d{2,3}-\d{7,8}" + _END)


def _mask_text(value: str) -> str:
    value = _ID_NUMBER.sub(lambda m: m.group()[:3] + "*" * 13 + m.group()[-2:], value)
    value = _MOBILE.sub(lambda m: m.group()[:-8] + "****" + m.group()[-4:], value)
    return _LANDLINE.sub(lambda m: m.group().split("-")[0] + "-****" + m.group()[-2:], value)


def _mask_whole(value: Any) -> Any:
    """A personal field: a name keeps its first character, anything else is starred."""
    if isinstance(value, str):
        text = _mask_text(value)
        if text != value:
            return text
        return value[:1] + "*" * max(len(value) - 1, 1) if value else value
    if isinstance(value, (list, tuple)):
        return [_mask_whole(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _mask_whole(v) for k, v in value.items()}
    return "***" if value is not None and not isinstance(value, bool) else value


def mask(value: Any) -> Any:
    """``value`` (JSON-like) with personal fields masked and phone/ID numbers starred."""
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, Mapping):
        return {k: (_mask_whole(v) if isinstance(k, str) and _PERSONAL_KEY.search(k)
                    else mask(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


def mask_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """An exported event with its payload masked (ids, hashes and staff accounts kept)."""
    out = dict(event)
    if out.get("payload") is not None:
        out["payload"] = mask(out["payload"])
    return out
