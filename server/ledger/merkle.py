"""RFC 6962 (Certificate Transparency) Merkle tree hashing over hex leaf hashes.

Leaves are the hex strings ``canonical.leaf_hash`` produces (already ``H(0x00 || data)``);
interior nodes are ``H(0x01 || left || right)``, split at the largest power of two smaller than
the size (RFC 6962 §2.1). Every function takes the hash ``algorithm`` name and defaults to
``canonical.HASH_NAME``; callers must record that name next to any root or proof they keep.

Invalid arguments (index out of range, sizes out of order, malformed hex) raise ``ValueError``;
verification functions return ``False`` rather than raising for a proof that does not check.
"""

from __future__ import annotations

from collections.abc import Sequence

from .canonical import HASH_NAME, hash_bytes


def _node(left: bytes, right: bytes, algorithm: str) -> bytes:
    return hash_bytes(b"\x01" + left + right, algorithm)


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _raw(leaf_hashes: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in leaf_hashes]


def _mth(leaves: Sequence[bytes], algorithm: str) -> bytes:
    # Level by level: carrying an unpaired right-most node up unchanged is exactly the RFC's
    # recursive split, and avoids recursion for multi-million-event logs.
    if not leaves:
        return hash_bytes(b"", algorithm)
    level = list(leaves)
    while len(level) > 1:
        nxt = [_node(level[i], level[i + 1], algorithm) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def root(leaf_hashes: Sequence[str], algorithm: str = HASH_NAME) -> str:
    """Merkle Tree Hash (MTH) of the leaves, hex; the empty tree's root is ``H("")``."""
    return _mth(_raw(leaf_hashes), algorithm).hex()


def _path(m: int, leaves: Sequence[bytes], algorithm: str) -> list[bytes]:
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, leaves[:k], algorithm) + [_mth(leaves[k:], algorithm)]
    return _path(m - k, leaves[k:], algorithm) + [_mth(leaves[:k], algorithm)]


def inclusion_proof(leaf_hashes: Sequence[str], index: int,
                    algorithm: str = HASH_NAME) -> list[str]:
    """Audit path (RFC 6962 §2.1.1) for leaf ``index`` in the tree of all ``leaf_hashes``.

    Raises ``ValueError`` if ``index`` is not in ``range(len(leaf_hashes))``.
    """
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"index {index} outside a tree of size {len(leaf_hashes)}")
    return [h.hex() for h in _path(index, _raw(leaf_hashes), algorithm)]


def inclusion_proofs(leaf_hashes: Sequence[str], algorithm: str = HASH_NAME) -> list[list[str]]:
    """Audit paths for every leaf, in O(n log n) instead of n separate O(n) walks."""
    leaves = _raw(leaf_hashes)
    proofs: list[list[bytes]] = [[] for _ in leaves]

    def walk(lo: int, hi: int) -> bytes:
        # Returns MTH(leaves[lo:hi]) and appends the sibling hash to every leaf's path below.
        if hi - lo == 1:
            return leaves[lo]
        mid = lo + _split(hi - lo)
        left, right = walk(lo, mid), walk(mid, hi)
        for i in range(lo, mid):
            proofs[i].append(right)
        for i in range(mid, hi):
            proofs[i].append(left)
        return _node(left, right, algorithm)

    if leaves:
        walk(0, len(leaves))
    return [[h.hex() for h in p] for p in proofs]


def verify_inclusion(leaf_hash: str, index: int, tree_size: int, proof: Sequence[str],
                     root_hash: str, algorithm: str = HASH_NAME) -> bool:
    """True iff ``proof`` shows leaf ``leaf_hash`` at ``index`` in the tree with ``root_hash``.

    RFC 9162 §2.1.3.2. Never raises for a wrong or malformed proof; returns ``False``.
    """
    if not 0 <= index < tree_size:
        return False
    try:
        r = bytes.fromhex(leaf_hash)
        path = _raw(proof)
        expected = bytes.fromhex(root_hash)
    except ValueError:
        return False
    fn, sn = index, tree_size - 1
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r, algorithm)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p, algorithm)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected


def _subproof(m: int, leaves: Sequence[bytes], complete: bool, algorithm: str) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves, algorithm)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], complete, algorithm) + [_mth(leaves[k:], algorithm)]
    return _subproof(m - k, leaves[k:], False, algorithm) + [_mth(leaves[:k], algorithm)]


def consistency_proof(m: int, leaf_hashes: Sequence[str],
                      algorithm: str = HASH_NAME) -> list[str]:
    """Proof (RFC 6962 §2.1.2) that the first ``m`` leaves' tree is a prefix of the whole tree.

    Raises ``ValueError`` unless ``0 <= m <= len(leaf_hashes)``; ``m`` of 0 or n gives ``[]``.
    """
    n = len(leaf_hashes)
    if not 0 <= m <= n:
        raise ValueError(f"old size {m} outside 0..{n}")
    if m == 0 or m == n:
        return []
    return [h.hex() for h in _subproof(m, _raw(leaf_hashes), True, algorithm)]


def verify_consistency(first_size: int, second_size: int, first_root: str, second_root: str,
                       proof: Sequence[str], algorithm: str = HASH_NAME) -> bool:
    """True iff ``proof`` shows the tree ``(first_size, first_root)`` is a prefix of
    ``(second_size, second_root)``. RFC 9162 §2.1.4.2; returns ``False``, never raises.
    """
    try:
        path = _raw(proof)
        r1, r2 = bytes.fromhex(first_root), bytes.fromhex(second_root)
    except ValueError:
        return False
    if not 0 <= first_size <= second_size:
        return False
    if first_size == second_size:
        return not path and r1 == r2
    if first_size == 0:
        # Every tree extends the empty tree; RFC 9162 gives no proof for it.
        return not path
    if not path:
        return False
    if first_size & (first_size - 1) == 0:  # a power of two: the old root is the first node
        path = [r1] + path
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr, algorithm)
            sr = _node(c, sr, algorithm)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c, algorithm)
        fn >>= 1
        sn >>= 1
    return fr == r1 and sr == r2 and sn == 0


class Accumulator:
    """Append-only RFC 6962 tree kept as its right frontier: O(log n) memory and work per leaf.

    What the audit service keeps between writes to checkpoint after every event without
    re-reading the log. ``root()`` equals ``merkle.root`` over all leaves appended.
    """

    def __init__(self, algorithm: str = HASH_NAME) -> None:
        self.algorithm = algorithm
        self.size = 0
        # Roots of the perfect subtrees making up the tree, largest (left-most) first.
        self._frontier: list[bytes] = []

    def append(self, leaf_hash: str) -> None:
        """Add one hex leaf hash. Raises ``ValueError`` for malformed hex."""
        h = bytes.fromhex(leaf_hash)
        n = self.size
        while n & 1:  # merge equal-height subtrees, as in binary carry
            h = _node(self._frontier.pop(), h, self.algorithm)
            n >>= 1
        self._frontier.append(h)
        self.size += 1

    def root(self) -> str:
        """Current root, hex."""
        if not self._frontier:
            return hash_bytes(b"", self.algorithm).hex()
        r = self._frontier[-1]
        for h in reversed(self._frontier[:-1]):
            r = _node(h, r, self.algorithm)
        return r.hex()
