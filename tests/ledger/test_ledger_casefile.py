"""Case files round-trip through the standalone verifier; tampering names the file."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from server.ledger.canonical import HASH_NAME, event_leaf_hash
from server.ledger.casefile import CaseFileError, build_casefile
from server.ledger.checkpoint import public_key_spec, sign_message

from .factory import case_attributes, make_events

# Rows are changed behind the app's back on a connection of its own (as an intruder
# would): the test's rows must be committed for it to see them.
pytestmark = pytest.mark.real_commits


ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_casefile.py"
HMAC_KEY = "casefile-secret"
ED_KEY = "ed25519:" + "2a" * 32


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_casefile", TOOL)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _case(case_id: str = "case-0001") -> list[dict[str, Any]]:
    return [e for e in make_events(3) if e["case_id"] == case_id]


def _build(key: str = HMAC_KEY, **kw: Any) -> bytes:
    import random

    return build_casefile(
        "case-0001", _case(), key=key, case_attributes=case_attributes(1, random.Random(1)),
        extra_files={"forms/application.json": json.dumps({"project_name": "新材料"}).encode(),
                     "records/受理通知书.html": "<html><body>受理</body></html>".encode(),
                     "records/办结单.pdf": b"%PDF-1.7\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n"},
        created_at="2026-03-05T08:00:00Z", **kw)


def _rewrite(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """Copy a zip, replacing (bytes) or dropping (None) members, adding new ones."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name in src.namelist():
            new = changes.get(name, src.read(name))
            if new is not None:
                out.writestr(name, new)
        for name, new in changes.items():
            if name not in src.namelist() and new is not None:
                out.writestr(name, new)
    return buf.getvalue()


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated, so the script cannot pick up the project's modules by accident.
    return subprocess.run([sys.executable, "-I", str(TOOL), str(path), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_casefile_is_deterministic_and_complete() -> None:
    data = _build()
    assert data == _build()
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    n = len(_case())
    assert {"manifest.json", "events.json", "files/forms/application.json",
            "files/records/受理通知书.html", "files/records/办结单.pdf"} <= names
    assert {f"proofs/{i:06d}.json" for i in range(1, n + 1)} <= names
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    assert manifest["hash"] == HASH_NAME and manifest["tree_size"] == n
    assert manifest["checkpoint"]["scope"] == "case-0001"


def test_round_trip_verifies_in_a_subprocess(tmp_path: Path) -> None:
    p = tmp_path / "case.zip"
    p.write_bytes(_build())
    r = _run(p, "--key", HMAC_KEY)
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
    r = _run(p)  # no key: the seal is unchecked, so UNSEALED (exit 3), not OK
    assert r.returncode == 3 and "UNSEALED: signatures NOT checked" in r.stdout
    assert "OK" not in r.stdout
    r = _run(p, "--accept-unsealed")
    assert r.returncode == 0 and "unsealed, accepted on request" in r.stdout
    r = _run(p, "--key", "wrong")
    assert r.returncode == 1 and "checkpoint signature" in r.stdout


def test_ed25519_casefile_verifies_with_the_public_key_only(tmp_path: Path) -> None:
    p = tmp_path / "case.zip"
    p.write_bytes(_build(ED_KEY))
    r = _run(p, "--public-key", public_key_spec(ED_KEY))
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(p, "--public-key", public_key_spec("ed25519:" + "2b" * 32))
    assert r.returncode == 1 and "seal" in r.stdout


def test_tampered_extra_file_is_named(tmp_path: Path) -> None:
    p = tmp_path / "case.zip"
    p.write_bytes(_rewrite(_build(), {"files/records/办结单.pdf": b"%PDF-1.7 forged"}))
    r = _run(p, "--key", HMAC_KEY)
    assert r.returncode == 1
    assert "FAIL: files/records/办结单.pdf: size" in r.stdout
    assert "FAIL: files/records/办结单.pdf: SHA256 does not match" in r.stdout


def test_tampered_event_is_named_even_with_manifest_rewritten(tmp_path: Path) -> None:
    data = _build()
    zf = zipfile.ZipFile(io.BytesIO(data))
    events = json.loads(zf.read("events.json"))
    events[1]["payload"]["new"]["opinion"] = "不同意"
    events[1]["leaf_hash"] = event_leaf_hash(events[1])  # rewrite the hash too
    new_events = json.dumps(events, ensure_ascii=False).encode()
    manifest = json.loads(zf.read("manifest.json"))
    manifest["files"]["events.json"]["size"] = len(new_events)
    manifest["files"]["events.json"]["sha256"] = hashlib.sha256(new_events).hexdigest()
    manifest["files"]["events.json"].pop("sm3", None)
    p = tmp_path / "case.zip"
    p.write_bytes(_rewrite(data, {"events.json": new_events,
                                  "manifest.json": json.dumps(manifest).encode()}))
    r = _run(p, "--key", HMAC_KEY)
    assert r.returncode == 1
    assert "Merkle root does not match" in r.stdout
    assert "proofs/000002.json: inclusion proof does not verify" in r.stdout
    assert "seal" in r.stdout


def test_removed_event_and_unlisted_file_are_named(tmp_path: Path) -> None:
    tool = _tool()
    data = _build()
    events = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("events.json"))
    del events[1]
    p = tmp_path / "c.zip"
    p.write_bytes(_rewrite(data, {"events.json": json.dumps(events).encode(),
                                  "notes.txt": b"added later"}))
    problems, _ = tool.verify(str(p), HMAC_KEY)
    text = "\n".join(problems)
    assert "events.json: SHA256 does not match the manifest" in text
    assert "expected case_seq 2 (event removed or inserted)" in text
    assert "notes.txt: present but not listed in the manifest" in text


def test_tool_ed25519_and_sm3_match_the_libraries() -> None:
    tool = _tool()
    for data in (b"", b"abc", b"a" * 64, bytes(range(256)) * 5):
        assert tool.sm3_pure(data) == tool.digest("sm3", data)
        if HASH_NAME == "sm3":
            assert tool.sm3_pure(data) == hashlib.new("sm3", data).digest()
    sig = sign_message(b"message", ED_KEY)
    pub = bytes.fromhex(public_key_spec(ED_KEY).split(":")[1])
    assert tool.ed25519_verify(pub, b"message", bytes.fromhex(sig["signature"]))
    assert not tool.ed25519_verify(pub, b"messagf", bytes.fromhex(sig["signature"]))


def test_tampered_history_is_refused_at_build() -> None:
    events = _case()
    events[0]["actor"] = "someone_else"
    with pytest.raises(CaseFileError, match="does not verify"):
        build_casefile("case-0001", events, key=HMAC_KEY)
    with pytest.raises(CaseFileError, match="unusable"):
        build_casefile("case-0001", _case(), key=HMAC_KEY, extra_files={"../x": b""})


def _no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr


def test_a_truncated_zip_is_a_fail_line_not_a_traceback(tmp_path: Path) -> None:
    data = _build()
    for cut in (len(data) // 2, len(data) - 30, 100):
        p = tmp_path / f"cut{cut}.zip"
        p.write_bytes(data[:cut])
        r = _run(p, "--key", HMAC_KEY)
        _no_traceback(r)
        assert r.returncode == 1 and r.stdout.startswith("FAIL: "), r.stdout


def test_a_flipped_byte_in_the_compressed_stream_is_named(tmp_path: Path) -> None:
    data = _build()
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo("events.json")
    # The compressed data starts after the local header (30 bytes + name + extra field).
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    # (Not the last bytes: a flip in the padding after the final block changes nothing.)
    for offset in (start + 5, start + info.compress_size // 2,
                   start + 3 * info.compress_size // 4):
        damaged = bytearray(data)
        damaged[offset] ^= 0x40
        p = tmp_path / f"flip{offset}.zip"
        p.write_bytes(bytes(damaged))
        r = _run(p, "--key", HMAC_KEY)
        _no_traceback(r)
        assert r.returncode == 1, r.stdout
        assert "FAIL: events.json: damaged in the zip, cannot be read" in r.stdout, r.stdout


def test_a_rehashed_manifest_without_the_seal_is_unsealed_or_fails(tmp_path: Path) -> None:
    data = _build()
    zf = zipfile.ZipFile(io.BytesIO(data))
    forged_pdf = b"%PDF-1.7 forged"
    manifest = json.loads(zf.read("manifest.json"))
    manifest["files"]["files/records/办结单.pdf"] = {
        "size": len(forged_pdf), "sha256": hashlib.sha256(forged_pdf).hexdigest()}
    manifest.pop("seal")
    p = tmp_path / "rehashed.zip"
    p.write_bytes(_rewrite(data, {"files/records/办结单.pdf": forged_pdf,
                                  "manifest.json": json.dumps(manifest).encode()}))
    r = _run(p)
    _no_traceback(r)
    assert r.returncode == 3 and "UNSEALED: the manifest carries no seal" in r.stdout, r.stdout
    assert "OK" not in r.stdout
    r = _run(p, "--key", HMAC_KEY)
    assert r.returncode == 1 and "FAIL: manifest.json: seal" in r.stdout, r.stdout


def test_garbage_and_a_malformed_manifest_are_fail_lines(tmp_path: Path) -> None:
    p = tmp_path / "garbage.zip"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    r = _run(p)
    _no_traceback(r)
    assert r.returncode == 1 and r.stdout.startswith("FAIL: ")
    q = tmp_path / "badmanifest.zip"
    q.write_bytes(_rewrite(_build(), {"manifest.json": b'{"hash": "sm3", "files": [1, 2]}'}))
    r = _run(q)
    _no_traceback(r)
    assert r.returncode == 1 and "manifest.json is malformed" in r.stdout, r.stdout
