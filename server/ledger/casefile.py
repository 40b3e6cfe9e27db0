"""The one-file-per-case archive (一事一档): a zip an auditor can verify offline.

Layout::

    manifest.json        format, case id, hash names, every file's SHA-256 (and SM3), the
                         case's Merkle root and tree size, its signed checkpoint, and a seal
                         (signature over the manifest itself, so file hashes cannot be swapped)
    events.json          the case's stored events, in seq order, with their leaf hashes
    proofs/000001.json   inclusion proof of each event (named by case_seq) in the case tree
    files/<name>         extra files: forms as JSON, printable records as HTML/PDF

``tools/verify_casefile.py`` checks all of it with the standard library alone. The zip is
deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from . import merkle
from .canonical import HASH_NAME
from .checkpoint import make_checkpoint, sign_message, verify_checkpoint
from .verify import verify_events

FORMAT = "guanjia-casefile"
VERSION = 1
SEAL_DOMAIN = b"guanjia-casefile-manifest-v1\n"
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed so that archives are byte-for-byte reproducible


class CaseFileError(ValueError):
    """The case's events do not verify, or an extra file name is unusable."""


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def file_digests(data: bytes) -> dict[str, Any]:
    """``{"size", "sha256"[, "sm3"]}`` of ``data``; SM3 only where this OpenSSL has it."""
    out: dict[str, Any] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    # Listed-but-unloadable happens with some OpenSSL provider setups: SHA-256 then suffices.
    with contextlib.suppress(ValueError):
        out["sm3"] = hashlib.new("sm3", data).hexdigest()
    return out


def seal_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The bytes the manifest's ``seal`` signs: the manifest without ``seal``, canonical JSON."""
    body = {k: v for k, v in manifest.items() if k != "seal"}
    return SEAL_DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":"),
                                    ensure_ascii=False).encode("utf-8")


def _extra_name(name: str) -> str:
    p = PurePosixPath(name)
    if not name or p.is_absolute() or ".." in p.parts or "\\" in name or name.endswith("/"):
        raise CaseFileError(f"unusable file name {name!r}")
    return f"files/{p}"


def build_casefile(case_id: str, events: Sequence[dict[str, Any]], *, key: str | bytes,
                   extra_files: Mapping[str, bytes] | None = None,
                   checkpoint: dict[str, Any] | None = None,
                   case_attributes: Mapping[str, Any] | None = None,
                   algorithm: str = HASH_NAME, created_at: str | None = None) -> bytes:
    """Build the zip bytes of one case's archive.

    ``events``: all stored events of ``case_id`` (any order). ``key``: the checkpoint key from
    configuration; it signs a case-scoped checkpoint (unless ``checkpoint`` is given, which
    must be one for this case and its full size) and seals the manifest. ``extra_files``: name →
    bytes, stored under ``files/``.

    Raises ``CaseFileError`` if the events do not verify (an archive must not bless tampered
    history), belong to another case, or a name is unusable; ``CheckpointError`` for a bad key.
    """
    ordered = sorted(events, key=lambda e: e["seq"])
    if any(e.get("case_id") != case_id for e in ordered):
        raise CaseFileError(f"events of another case passed for {case_id}")
    leaves = [e["leaf_hash"] for e in ordered]
    if checkpoint is None:
        checkpoint = make_checkpoint(leaves, key, scope=case_id, algorithm=algorithm)
    elif (checkpoint.get("scope") != case_id or checkpoint.get("tree_size") != len(leaves)
          or not verify_checkpoint(checkpoint, key)):
        raise CaseFileError("the checkpoint given is not a valid one for this whole case")
    findings = verify_events(ordered, [checkpoint], key=key, whole_log=False,
                             algorithm=algorithm)
    if findings:
        raise CaseFileError("case history does not verify: " + "; ".join(map(str, findings)))

    tree_root = merkle.root(leaves, algorithm)
    contents: dict[str, bytes] = {"events.json": _json_bytes(list(ordered))}
    for i, (e, proof) in enumerate(zip(ordered, merkle.inclusion_proofs(leaves, algorithm),
                                       strict=True)):
        contents[f"proofs/{e['case_seq']:06d}.json"] = _json_bytes({
            "seq": e["seq"], "case_seq": e["case_seq"], "index": i, "tree_size": len(leaves),
            "leaf_hash": e["leaf_hash"], "root": tree_root, "hash": algorithm, "proof": proof})
    for name, data in sorted((extra_files or {}).items()):
        zname = _extra_name(name)
        if zname in contents:
            raise CaseFileError(f"file {name!r} given twice")
        contents[zname] = bytes(data)

    manifest: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "case_id": case_id,
        "case": dict(case_attributes or {}),
        "created_at": created_at or checkpoint["at"],
        "hash": algorithm, "tree_size": len(leaves), "root": tree_root,
        "checkpoint": checkpoint,
        "files": {name: file_digests(data) for name, data in contents.items()},
    }
    manifest["seal"] = sign_message(seal_bytes(manifest), key)

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in [("manifest.json", _json_bytes(manifest)), *contents.items()]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()
