#!/usr/bin/env python3
"""Verify a guanjia case file (一事一档 zip) offline, with the Python 3.11 standard library only.

Checks: every file listed in manifest.json is present, unaltered (SHA-256, and SM3 when
listed) and no unlisted file is present; every event's leaf hash matches its content; numbering
is complete (case_seq 1..n, seq increasing); the Merkle root and tree size match the manifest
and its checkpoint; every inclusion proof verifies. With ``--key`` (the HMAC secret) or
``--public-key`` (``ed25519-pub:<hex>`` or 64 hex digits) it also checks the signatures of the
checkpoint and of the manifest (the seal). Without the seal checked, anyone could have
rewritten the files and re-hashed the manifest: such a file is ``UNSEALED``, not OK, unless
``--accept-unsealed`` is given. A damaged file (truncated, a flipped byte in the compressed
data) is reported as such, never with a traceback.

Prints ``OK ...``, or ``UNSEALED: ...``, or one ``FAIL: ...`` line per problem. Exit status:
0 verified, 1 not verified (FAIL), 2 unusable arguments, 3 unsealed (contents consistent but
no seal checked).

Usage: python3 verify_casefile.py CASEFILE.zip [--key SECRET | --public-key KEY]
       [--accept-unsealed]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import struct
import sys
import zipfile
import zlib
from typing import Any

VERIFIED, FAILED, USAGE, UNSEALED = 0, 1, 2, 3

# --- SM3 (GB/T 32905-2016), used only when this Python's OpenSSL lacks it ---------------------

_SM3_IV = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600,
           0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
_M32 = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & _M32


def _p0(x: int) -> int:
    return x ^ _rotl(x, 9) ^ _rotl(x, 17)


def _p1(x: int) -> int:
    return x ^ _rotl(x, 15) ^ _rotl(x, 23)


def sm3_pure(data: bytes) -> bytes:
    """SM3 digest of ``data`` in pure Python (slow; a fallback for offline checks)."""
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack(">Q", len(data) * 8)
    v = list(_SM3_IV)
    for off in range(0, len(msg), 64):
        w = list(struct.unpack(">16I", msg[off:off + 64]))
        for j in range(16, 68):
            w.append(_p1(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)) ^ _rotl(w[j - 13], 7)
                     ^ w[j - 6])
        a, b, c, d, e, f, g, h = v
        for j in range(64):
            t = 0x79CC4519 if j < 16 else 0x7A879D8A
            ss1 = _rotl((_rotl(a, 12) + e + _rotl(t, j)) & _M32, 7)
            ss2 = ss1 ^ _rotl(a, 12)
            if j < 16:
                ff, gg = a ^ b ^ c, e ^ f ^ g
            else:
                ff, gg = (a & b) | (a & c) | (b & c), (e & f) | (~e & g)
            tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) & _M32
            tt2 = (gg + h + ss1 + w[j]) & _M32
            a, b, c, d = tt1, a, _rotl(b, 9), c
            e, f, g, h = _p0(tt2), e, _rotl(f, 19), g
        v = [x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h), strict=True)]
    return struct.pack(">8I", *v)


def digest(algorithm: str, data: bytes) -> bytes:
    """``algorithm`` (sm3 or sha256) digest; raises ValueError for any other name."""
    if algorithm == "sha256":
        return hashlib.sha256(data).digest()
    if algorithm == "sm3":
        try:
            return hashlib.new("sm3", data).digest()
        except ValueError:
            return sm3_pure(data)
    raise ValueError(f"unsupported hash algorithm {algorithm!r}")


# --- Ed25519 verification (RFC 8032 §6 reference arithmetic) -----------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Point = tuple[int, int, int, int]


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _add(p: _Point, q: _Point) -> _Point:
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _mul(s: int, p: _Point) -> _Point:
    q: _Point = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _decompress(s: bytes) -> _Point | None:
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0) or 0
_G: _Point = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public: bytes, msg: bytes, sig: bytes) -> bool:
    """True iff ``sig`` is a valid Ed25519 signature of ``msg`` by ``public`` (RFC 8032)."""
    if len(public) != 32 or len(sig) != 64:
        return False
    a, r = _decompress(public), _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(), "little") % _L
    left, right = _mul(s, _G), _add(r, _mul(h, a))
    return ((left[0] * right[2] - right[0] * left[2]) % _P == 0
            and (left[1] * right[2] - right[1] * left[2]) % _P == 0)


# --- The ledger's formats (must match server/ledger byte for byte) -----------------------------

def canonical_event_bytes(event: dict[str, Any]) -> bytes:
    body = {k: v for k, v in event.items() if k != "leaf_hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def merkle_root(leaves: list[bytes], alg: str) -> bytes:
    if not leaves:
        return digest(alg, b"")
    level = list(leaves)
    while len(level) > 1:
        nxt = [digest(alg, b"\x01" + level[i] + level[i + 1])
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes,
                     alg: str) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = digest(alg, b"\x01" + p + r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = digest(alg, b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


_CHECKPOINT_FIELDS = ("version", "scope", "tree_size", "root", "hash", "at", "sig_alg", "key_id")


def _checkpoint_bytes(cp: dict[str, Any]) -> bytes:
    # Version 2 checkpoints also sign the digest of the previous one.
    fields = (*_CHECKPOINT_FIELDS, "prev") if cp.get("version") == 2 else _CHECKPOINT_FIELDS
    body = {f: cp[f] for f in fields}
    return b"guanjia-checkpoint-v1\n" + json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _seal_bytes(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "seal"}
    return b"guanjia-casefile-manifest-v1\n" + json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _check_signature(msg: bytes, sig: dict[str, Any], key: str | None, public: bytes | None
                     ) -> bool:
    try:
        raw = bytes.fromhex(sig["signature"])
    except (KeyError, TypeError, ValueError):
        return False
    if public is not None:
        return sig.get("sig_alg") == "ed25519" and ed25519_verify(public, msg, raw)
    assert key is not None
    return sig.get("sig_alg") == "hmac-sha256" and hmac.compare_digest(
        hmac.new(key.encode("utf-8"), msg, "sha256").digest(), raw)


# --- The checks --------------------------------------------------------------------------------

# What a damaged zip raises while reading a member: a bad CRC, a broken deflate stream, a
# truncated local header, an unsupported method.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError, ValueError)


def verify(path: str, key: str | None = None, public: bytes | None = None
           ) -> tuple[list[str], list[str]]:
    """Verify the case file at ``path``: returns (problems, notes); no problems means OK.

    A note starting ``UNSEALED`` means the seal was absent or not checked.
    """
    problems: list[str] = []
    notes: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        return [f"not a readable zip (damaged or truncated): {exc}"], notes
    with zf:
        names = set(zf.namelist())
        if "manifest.json" not in names:
            return ["manifest.json is missing"], notes
        try:
            manifest = json.loads(zf.read("manifest.json"))
            alg = manifest["hash"]
            listed: dict[str, dict[str, Any]] = manifest["files"]
            if not isinstance(listed, dict) or not all(
                    isinstance(v, dict) for v in listed.values()):
                raise TypeError("files is not a mapping of names to digests")
            digest(alg, b"")
        except _DAMAGED as exc:
            return [f"manifest.json is damaged or malformed: {exc}"], notes
        except (KeyError, TypeError) as exc:
            return [f"manifest.json is malformed: {exc}"], notes
        if manifest.get("format") != "guanjia-casefile" or manifest.get("version") != 1:
            return ["manifest.json: not a version 1 guanjia case file"], notes

        # 1. Files.
        contents: dict[str, bytes] = {}
        for name in sorted(names - set(listed) - {"manifest.json"}):
            problems.append(f"{name}: present but not listed in the manifest")
        for name, want in sorted(listed.items()):
            if name not in names:
                problems.append(f"{name}: listed in the manifest but missing")
                continue
            try:
                data = zf.read(name)
            except _DAMAGED as exc:
                problems.append(f"{name}: damaged in the zip, cannot be read ({exc})")
                continue
            contents[name] = data
            if len(data) != want.get("size"):
                problems.append(f"{name}: size {len(data)}, manifest says {want.get('size')}")
            for h in ("sha256", "sm3"):
                if h in want and digest(h, data).hex() != want[h]:
                    problems.append(f"{name}: {h.upper()} does not match the manifest")
            if "sha256" not in want and "sm3" not in want:
                problems.append(f"{name}: the manifest gives no hash for it")

    # 2. Events: leaf hashes and numbering.
    try:
        events = json.loads(contents.get("events.json", b"null"))
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ValueError("not a list of events")
    except ValueError as exc:
        problems.append(f"events.json: unreadable ({exc})")
        return problems, notes
    case_id = manifest.get("case_id")
    leaves: list[bytes] = []
    last_seq = None
    for i, e in enumerate(events):
        label = f"events.json: event {i + 1} (seq {e.get('seq')}, case_seq {e.get('case_seq')})"
        computed = digest(alg, b"\x00" + canonical_event_bytes(e))
        if e.get("leaf_hash") != computed.hex():
            problems.append(f"{label}: content does not match its leaf hash")
        try:
            leaves.append(bytes.fromhex(e.get("leaf_hash", "")))
        except (TypeError, ValueError):
            leaves.append(computed)
        if e.get("case_id") != case_id:
            problems.append(f"{label}: belongs to case {e.get('case_id')!r}, not {case_id!r}")
        if e.get("case_seq") != i + 1:
            problems.append(f"{label}: expected case_seq {i + 1} (event removed or inserted)")
        if not isinstance(e.get("seq"), int) or (last_seq is not None and e["seq"] <= last_seq):
            problems.append(f"{label}: seq not increasing")
        last_seq = e.get("seq") if isinstance(e.get("seq"), int) else last_seq

    # 3. Root, checkpoint, signatures.
    root = merkle_root(leaves, alg)
    if manifest.get("tree_size") != len(leaves):
        problems.append(f"manifest.json: tree_size {manifest.get('tree_size')}, "
                        f"events.json holds {len(leaves)}")
    if manifest.get("root") != root.hex():
        problems.append("manifest.json: Merkle root does not match events.json")
    cp = manifest.get("checkpoint") or {}
    for field, expected in (("scope", case_id), ("tree_size", len(leaves)),
                            ("root", root.hex()), ("hash", alg)):
        if cp.get(field) != expected:
            problems.append(f"manifest.json: checkpoint {field} does not match the case")
    if not isinstance(manifest.get("seal"), dict):
        notes.append("UNSEALED: the manifest carries no seal: anyone could have rewritten the "
                     "files and the manifest's hashes")
    if key is None and public is None:
        notes.append("UNSEALED: signatures NOT checked (give --key or --public-key): the "
                     "manifest's hashes alone prove nothing against a rewrite")
    else:
        try:
            cp_ok = _check_signature(_checkpoint_bytes(cp), cp, key, public)
        except KeyError:
            cp_ok = False
        if not cp_ok:
            problems.append("manifest.json: checkpoint signature does not verify with the key")
        if not _check_signature(_seal_bytes(manifest), manifest.get("seal") or {}, key, public):
            problems.append("manifest.json: seal (manifest signature) does not verify")

    # 4. Inclusion proofs.
    for i, e in enumerate(events):
        name = f"proofs/{i + 1:06d}.json"
        if name not in contents:
            problems.append(f"{name}: inclusion proof missing")
            continue
        try:
            pr = json.loads(contents[name])
            ok = (pr["leaf_hash"] == e.get("leaf_hash") and pr["index"] == i
                  and verify_inclusion(bytes.fromhex(pr["leaf_hash"]), pr["index"],
                                       pr["tree_size"], [bytes.fromhex(p) for p in pr["proof"]],
                                       root, alg))
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            problems.append(f"{name}: inclusion proof does not verify against the root")
    return problems, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("casefile")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--key", help="HMAC checkpoint secret")
    group.add_argument("--public-key", help="Ed25519 public key: ed25519-pub:<hex> or <hex>")
    ap.add_argument("--accept-unsealed", action="store_true",
                    help="exit 0 when the contents are consistent though no seal was checked")
    args = ap.parse_args(argv)
    public = None
    if args.public_key:
        spec = args.public_key.removeprefix("ed25519-pub:")
        try:
            public = bytes.fromhex(spec)
        except ValueError:
            public = b""
        if len(public) != 32:
            ap.error("--public-key must be 64 hex digits")
    try:
        problems, notes = verify(args.casefile, args.key, public)
    except Exception as exc:  # noqa: BLE001 - a damaged file must be reported, never crash
        problems, notes = [f"the case file is damaged: {type(exc).__name__}: {exc}"], []
    for p in problems:
        print(f"FAIL: {p}")
    unsealed = [n for n in notes if n.startswith("UNSEALED")]
    for n in notes:
        print(n if n.startswith("UNSEALED") else f"NOTE: {n}")
    if problems:
        return FAILED
    if unsealed and not args.accept_unsealed:
        return UNSEALED
    print(f"OK {args.casefile}" + (" (unsealed, accepted on request)" if unsealed else ""))
    return VERIFIED


if __name__ == "__main__":
    sys.exit(main())
