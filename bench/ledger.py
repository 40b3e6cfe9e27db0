"""Micro-benchmark of the audit write path: canonicalise one event, hash it, checkpoint it.

Run: ``python bench/ledger.py``. The budget: auditing a ~5 ms task completion may cost ~20%
(1 ms). Prints µs per operation for a typical event with a 1-2 KB payload.
"""

from __future__ import annotations

import hashlib
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.ledger import chain, merkle  # noqa: E402
from server.ledger.canonical import HASH_NAME, canonical_event_bytes, leaf_hash  # noqa: E402
from server.ledger.checkpoint import make_checkpoint  # noqa: E402

EVENT = {
    "seq": 123456, "case_id": "2026-ZS-000417", "case_seq": 17, "type": "task_completed",
    "actor": "zrzy_wang", "role": "dept_zrzy", "at": "2026-03-02T09:41:27.123456Z",
    "task_id": "6f1c2d3e-0a1b-4c5d-8e9f-001122334455", "element_id": "department_handle",
    "element_name": "部门办理",
    "payload": {"old": {"status": "handling", "opinion": ""},
                "new": {"status": "done", "opinion": "经审查，该项目用地符合国土空间规划。" * 12,
                        "item": {"code": "ZRZY-001", "name": "建设项目用地预审与选址意见书",
                                 "department": "dept_zrzy", "promised_days": 10},
                        "attachments": [f"att-{i:04d}.pdf" for i in range(10)]}},
}


def per_call_us(fn: object, n: int) -> float:
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6  # type: ignore[arg-type]


def main() -> None:
    data = canonical_event_bytes(EVENT)
    print(f"hash algorithm: {HASH_NAME}; canonical event: {len(data)} bytes")
    canon = per_call_us(lambda: canonical_event_bytes(EVENT), 20000)
    print(f"canonical_event_bytes:   {canon:7.2f} µs")
    print(f"leaf_hash ({HASH_NAME}):        {per_call_us(lambda: leaf_hash(data), 20000):7.2f} µs")
    for alg in ("sha256", "sm3"):
        try:
            hashlib.new(alg)
        except ValueError:
            continue
        us = per_call_us(lambda a=alg: leaf_hash(data, a), 20000)
        print(f"  leaf_hash {alg:6}:        {us:7.2f} µs")
    try:
        from gmssl import func, sm3  # optional: the pure-Python SM3 we chose not to use

        msg = func.bytes_to_list(b"\x00" + data)
        print(f"  gmssl sm3 (pure Python): {per_call_us(lambda: sm3.sm3_hash(msg), 50):7.2f} µs")
    except ImportError:
        pass
    key = chain.chain_key("secret")
    h0 = leaf_hash(data)
    mac = per_call_us(lambda: (chain.event_mac(key, "case", 17, h0, h0),
                               chain.head_mac(key, "case", 17, h0)), 20000)
    print(f"chain event MAC + anchor MAC: {mac:7.2f} µs  (per event, in record_event)")
    acc = merkle.Accumulator()
    for i in range(100_000):
        acc.append(leaf_hash(i.to_bytes(4, "big")))
    h = leaf_hash(data)
    print(f"accumulator append+root (100k log): "
          f"{per_call_us(lambda: (acc.append(h), acc.root()), 5000):7.2f} µs")
    leaves = [h] * 8
    print(f"make_checkpoint HMAC (8 leaves): "
          f"{per_call_us(lambda: make_checkpoint(leaves, 'secret'), 2000):7.2f} µs")
    try:
        ed = "ed25519:" + "11" * 32
        print(f"make_checkpoint Ed25519 (8 leaves): "
              f"{per_call_us(lambda: make_checkpoint(leaves, ed), 500):7.2f} µs")
    except Exception as exc:  # cryptography missing: report, don't fail the bench
        print(f"make_checkpoint Ed25519: unavailable ({exc})")


if __name__ == "__main__":
    main()
