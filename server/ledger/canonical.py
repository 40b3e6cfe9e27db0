"""The canonical byte form of an audit event, and its RFC 6962 leaf hash.

This is the contract the audit service writes with: every stored event carries
``leaf_hash(canonical_event_bytes(event))``. The hash algorithm is SM3 (GB/T 32905-2016) when
this Python's OpenSSL provides it, SHA-256 otherwise; ``HASH_NAME`` says which, and every root,
proof, checkpoint and case file records the name so a verifier never has to guess.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


class UnknownHashError(ValueError):
    """The named hash algorithm is not available in this Python."""


def _available(name: str) -> bool:
    try:
        hashlib.new(name, b"")
    except ValueError:
        return False
    return True


# SM3 is the national standard the county auditors expect; OpenSSL 3 ships it in its default
# provider, but builds with ``no-sm3`` exist, so we fall back rather than fail at import.
HASH_NAME: str = "sm3" if _available("sm3") else "sha256"
SUPPORTED_HASHES: frozenset[str] = frozenset({"sm3", "sha256"})


def hash_bytes(data: bytes, algorithm: str = HASH_NAME) -> bytes:
    """Digest ``data`` with ``algorithm`` (``sm3`` or ``sha256``).

    Raises ``UnknownHashError`` if the algorithm is not supported or not available here.
    """
    if algorithm not in SUPPORTED_HASHES:
        raise UnknownHashError(f"unsupported hash algorithm {algorithm!r}")
    try:
        return hashlib.new(algorithm, data).digest()
    except ValueError as exc:  # OpenSSL built without it
        raise UnknownHashError(f"hash algorithm {algorithm!r} is not available here") from exc


def canonical_event_bytes(event: dict[str, Any]) -> bytes:
    """Serialize an event (without its ``leaf_hash``) to canonical JSON bytes.

    Keys sorted, no whitespace, UTF-8 (not ``\\u`` escapes), values that JSON cannot hold turned
    into ``str``. Because a stored event is itself JSON, re-serialising it after a round trip
    through ``json`` gives the same bytes. Never raises for JSON-like input.
    """
    body = {k: v for k, v in event.items() if k != "leaf_hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def leaf_hash(data: bytes, algorithm: str = HASH_NAME) -> str:
    """RFC 6962 leaf hash: H(0x00 || data), hex. Raises ``UnknownHashError``."""
    return hash_bytes(b"\x00" + data, algorithm).hex()


def event_leaf_hash(event: dict[str, Any], algorithm: str = HASH_NAME) -> str:
    """The leaf hash an event should carry: ``leaf_hash(canonical_event_bytes(event))``."""
    return leaf_hash(canonical_event_bytes(event), algorithm)
