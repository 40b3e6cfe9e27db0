"""The canonical byte form of an audit event, and its RFC 6962 leaf hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

HASH_NAME = "sha256"


def canonical_event_bytes(event: dict[str, Any]) -> bytes:
    """Serialize an event (without its ``leaf_hash``) to canonical JSON bytes."""
    body = {k: v for k, v in event.items() if k != "leaf_hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def leaf_hash(data: bytes) -> str:
    """RFC 6962 leaf hash: H(0x00 || data), hex."""
    return hashlib.new(HASH_NAME, b"\x00" + data).hexdigest()
