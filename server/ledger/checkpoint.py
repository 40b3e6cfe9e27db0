"""Signed checkpoints: a tree size and root, signed so that a database editor cannot forge them.

The key comes from configuration (``Settings.checkpoint_key``) as a string:

* ``"ed25519:<64 hex>"`` — an Ed25519 private seed. Anyone
  holding the public key (``"ed25519-pub:<64 hex>"``, see ``public_key_spec``) can verify,
  including an auditor offline; preferred.
* anything else — an HMAC-SHA256 secret (its UTF-8 bytes): only key holders can verify.

A checkpoint is a plain dict (JSON-ready)::

    {"version": 2, "scope": "log" | <case_id>, "tree_size": int, "root": hex, "hash": "sm3",
     "at": ISO-8601, "sig_alg": "ed25519" | "hmac-sha256", "key_id": hex16,
     "prev": hex ("" for a scope's first), "public_key": hex (ed25519 only, informational),
     "signature": hex}

Version 2 adds ``prev``, the ``checkpoint_digest`` of the scope's previous checkpoint, under
the signature: checkpoints form a chain, so one removed from the middle is seen. Version 1
checkpoints (no ``prev``) still verify.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import merkle
from .canonical import HASH_NAME

LOG_SCOPE = "log"
_DOMAIN = b"guanjia-checkpoint-v1\n"
_SIGNED_FIELDS = ("version", "scope", "tree_size", "root", "hash", "at", "sig_alg", "key_id")
_SIGNED_FIELDS_V2 = (*_SIGNED_FIELDS, "prev")


class CheckpointError(ValueError):
    """A key spec is malformed."""


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def _ed25519_seed(key: str | bytes) -> bytes | None:
    k = _key_bytes(key)
    if not k.startswith(b"ed25519:"):
        return None
    try:
        seed = bytes.fromhex(k[len(b"ed25519:"):].decode("ascii"))
    except ValueError as exc:
        raise CheckpointError("ed25519 key must be 'ed25519:' and 64 hex digits") from exc
    if len(seed) != 32:
        raise CheckpointError("ed25519 key must be 'ed25519:' and 64 hex digits")
    return seed


def _ed25519_public(key: str | bytes) -> bytes | None:
    k = _key_bytes(key)
    if k.startswith(b"ed25519-pub:"):
        try:
            pub = bytes.fromhex(k[len(b"ed25519-pub:"):].decode("ascii"))
        except ValueError as exc:
            raise CheckpointError("ed25519 public key must be 64 hex digits") from exc
        if len(pub) != 32:
            raise CheckpointError("ed25519 public key must be 64 hex digits")
        return pub
    seed = _ed25519_seed(key)
    if seed is None:
        return None
    return bytes(_private(seed).public_key().public_bytes_raw())


@functools.lru_cache(maxsize=8)  # deriving the key costs more than signing with it
def _private(seed: bytes) -> Any:
    return Ed25519PrivateKey.from_private_bytes(seed)


def generate_ed25519_key() -> str:
    """A new ``"ed25519:<hex>"`` key spec for configuration. Raises ``CheckpointError``."""

    seed = secrets.token_bytes(32)
    _private(seed)
    return "ed25519:" + seed.hex()


def public_key_spec(key: str | bytes) -> str:
    """The ``"ed25519-pub:<hex>"`` spec to hand to auditors. Raises ``CheckpointError`` for HMAC."""
    pub = _ed25519_public(key)
    if pub is None:
        raise CheckpointError("an HMAC key has no public half")
    return "ed25519-pub:" + pub.hex()


def _key_id(key: str | bytes) -> tuple[str, str]:
    pub = _ed25519_public(key)
    if pub is not None:
        return "ed25519", hashlib.sha256(pub).hexdigest()[:16]
    # The id of an HMAC key must not help guess the key: derive it with the key itself.
    return "hmac-sha256", hmac.new(_key_bytes(key), b"guanjia key id", "sha256").hexdigest()[:16]


def signed_bytes(checkpoint: dict[str, Any]) -> bytes:
    """The exact bytes a checkpoint's signature covers. Raises ``KeyError`` for missing fields."""
    fields = _SIGNED_FIELDS_V2 if checkpoint.get("version") == 2 else _SIGNED_FIELDS
    body = {f: checkpoint[f] for f in fields}
    return _DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False).encode("utf-8")


def sign_message(msg: bytes, key: str | bytes) -> dict[str, str]:
    """Sign ``msg``: ``{"sig_alg", "key_id", "signature"[, "public_key"]}``, hex values.

    Raises ``CheckpointError`` for a malformed key.
    """
    sig_alg, key_id = _key_id(key)
    out = {"sig_alg": sig_alg, "key_id": key_id}
    seed = _ed25519_seed(key)
    if seed is not None:
        priv = _private(seed)
        out["public_key"] = priv.public_key().public_bytes_raw().hex()
        out["signature"] = priv.sign(msg).hex()
    else:
        out["signature"] = hmac.new(_key_bytes(key), msg, "sha256").hexdigest()
    return out


def verify_message(msg: bytes, sig: dict[str, Any], key: str | bytes) -> bool:
    """True iff ``sig`` (from ``sign_message``) signs ``msg`` under ``key``.

    ``key`` is the signing key spec or, for Ed25519, the ``"ed25519-pub:…"`` public key; the
    ``public_key`` inside ``sig`` is never trusted. Returns ``False`` for a malformed ``sig``;
    raises ``CheckpointError`` for a malformed ``key``.
    """
    try:
        raw = bytes.fromhex(str(sig["signature"]))
        sig_alg = sig["sig_alg"]
    except (KeyError, ValueError, TypeError):
        return False
    pub = _ed25519_public(key)
    if pub is not None:
        if sig_alg != "ed25519":
            return False
        try:
            Ed25519PublicKey.from_public_bytes(pub).verify(raw, msg)
        except InvalidSignature:
            return False
        return True
    if sig_alg != "hmac-sha256":
        return False
    return hmac.compare_digest(hmac.new(_key_bytes(key), msg, "sha256").digest(), raw)


def checkpoint_digest(checkpoint: dict[str, Any]) -> str:
    """What the next checkpoint of the scope commits to: SHA-256 of the signed bytes and the
    signature. Raises ``KeyError`` for missing fields."""
    return hashlib.sha256(signed_bytes(checkpoint) + b"\n"
                          + str(checkpoint["signature"]).encode("ascii")).hexdigest()


def make_checkpoint(leaf_hashes: Sequence[str], key: str | bytes, *, scope: str = LOG_SCOPE,
                    algorithm: str = HASH_NAME, at: str | None = None,
                    prev: str | None = None) -> dict[str, Any]:
    """Sign the root of ``leaf_hashes`` (the whole tree) for ``scope`` (``"log"`` or a case id).

    ``prev``: the digest of the scope's previous checkpoint (``""`` for the first) makes a
    version 2 checkpoint; ``None`` a version 1 one (not chained).
    Raises ``CheckpointError`` for a malformed key, ``ValueError`` for malformed leaf hex.
    """
    return checkpoint_for_root(len(leaf_hashes), merkle.root(leaf_hashes, algorithm), key,
                               scope=scope, algorithm=algorithm, at=at, prev=prev)


def checkpoint_for_root(tree_size: int, root_hash: str, key: str | bytes, *,
                        scope: str = LOG_SCOPE, algorithm: str = HASH_NAME,
                        at: str | None = None, prev: str | None = None) -> dict[str, Any]:
    """Sign a root the caller already holds (e.g. ``merkle.Accumulator.root()`` on each write).

    Raises ``CheckpointError`` for a malformed key.
    """
    sig_alg, key_id = _key_id(key)
    cp: dict[str, Any] = {
        "version": 1 if prev is None else 2, "scope": scope, "tree_size": tree_size,
        "root": root_hash, "hash": algorithm,
        "at": at or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sig_alg": sig_alg, "key_id": key_id,
    }
    if prev is not None:
        cp["prev"] = prev
    cp.update(sign_message(signed_bytes(cp), key))
    return cp


def verify_checkpoint(checkpoint: dict[str, Any], key: str | bytes) -> bool:
    """True iff ``checkpoint`` is well formed and signed by ``key``.

    ``key`` is the signing key spec, or for Ed25519 also the ``"ed25519-pub:…"`` public key.
    Never trusts the checkpoint's own ``public_key`` field. Returns ``False`` for any malformed
    or mis-signed checkpoint; raises ``CheckpointError`` only for a malformed ``key``.
    """
    try:
        msg = signed_bytes(checkpoint)
        if type(checkpoint["tree_size"]) is not int or checkpoint["tree_size"] < 0:
            return False
    except (KeyError, TypeError):
        return False
    return verify_message(msg, checkpoint, key)
