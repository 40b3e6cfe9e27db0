"""RFC 6962 Merkle hashing: Certificate Transparency reference vectors and properties."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.ledger import merkle
from server.ledger.canonical import HASH_NAME, leaf_hash

# The test leaves and expected values of the Certificate Transparency / Trillian Merkle tests.
CT_INPUTS = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
             b"\x50\x51\x52\x53\x54\x55\x56\x57", bytes(range(0x60, 0x70))]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
SHA = "sha256"
CT_LEAVES = [leaf_hash(d, SHA) for d in CT_INPUTS]


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert merkle.root([], SHA) == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_roots(size: int) -> None:
    assert merkle.root(CT_LEAVES[:size], SHA) == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_ct_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    leaves = CT_LEAVES[:size]
    assert merkle.inclusion_proof(leaves, index, SHA) == path
    assert merkle.inclusion_proofs(leaves, SHA)[index] == path
    assert merkle.verify_inclusion(leaves[index], index, size, path, CT_ROOTS[size - 1], SHA)


@pytest.mark.parametrize(("m", "n", "path"), CT_CONSISTENCY)
def test_ct_consistency_proofs(m: int, n: int, path: list[str]) -> None:
    assert merkle.consistency_proof(m, CT_LEAVES[:n], SHA) == path
    assert merkle.verify_consistency(m, n, CT_ROOTS[m - 1], CT_ROOTS[n - 1], path, SHA)
    assert not merkle.verify_consistency(m, n, CT_ROOTS[m - 1], CT_ROOTS[n - 2], path, SHA)


def test_sm3_is_the_known_answer() -> None:
    # GB/T 32905-2016 example 1: SM3("abc").
    if HASH_NAME != "sm3":
        pytest.skip("this OpenSSL has no SM3")
    assert hashlib.new("sm3", b"abc").hexdigest() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")


def test_out_of_range_arguments_raise() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_proof(CT_LEAVES[:3], 3, SHA)
    with pytest.raises(ValueError):
        merkle.consistency_proof(4, CT_LEAVES[:3], SHA)
    assert not merkle.verify_inclusion(CT_LEAVES[0], 3, 3, [], CT_ROOTS[2], SHA)
    assert not merkle.verify_inclusion("zz", 0, 1, [], CT_ROOTS[0], SHA)


def _leaves(n: int) -> list[str]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_every_inclusion_and_consistency_proof_up_to_33_leaves() -> None:
    for n in range(1, 34):
        leaves = _leaves(n)
        r = merkle.root(leaves)
        proofs = merkle.inclusion_proofs(leaves)
        for i in range(n):
            assert proofs[i] == merkle.inclusion_proof(leaves, i)
            assert merkle.verify_inclusion(leaves[i], i, n, proofs[i], r)
            assert not merkle.verify_inclusion(leaves[(i + 1) % n] if n > 1 else leaves[i][::-1],
                                               i, n, proofs[i], r)
        for m in range(0, n + 1):
            proof = merkle.consistency_proof(m, leaves)
            assert merkle.verify_consistency(m, n, merkle.root(leaves[:m]), r, proof)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_inclusion_property(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    i = data.draw(st.integers(0, n - 1))
    r = merkle.root(leaves)
    proof = merkle.inclusion_proof(leaves, i)
    assert merkle.verify_inclusion(leaves[i], i, n, proof, r)
    if proof:  # any flipped proof element breaks it
        j = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[j] = leaf_hash(b"forged")
        assert not merkle.verify_inclusion(leaves[i], i, n, bad, r)
    if n > 1:  # the same proof does not prove another position
        k = data.draw(st.integers(0, n - 1).filter(lambda x: x != i))
        assert not merkle.verify_inclusion(leaves[i], k, n, proof, r)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), data=st.data())
def test_consistency_property(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    m = data.draw(st.integers(1, n - 1))
    proof = merkle.consistency_proof(m, leaves)
    old, new = merkle.root(leaves[:m]), merkle.root(leaves)
    assert merkle.verify_consistency(m, n, old, new, proof)
    # A rewritten history (one old leaf changed) is not consistent with the same new root.
    j = data.draw(st.integers(0, m - 1))
    forged = list(leaves)
    forged[j] = leaf_hash(b"forged")
    assert not merkle.verify_consistency(m, n, merkle.root(forged[:m]), new, proof)
    assert not merkle.verify_consistency(m, n, old, merkle.root(forged), proof)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 200))
def test_accumulator_matches_root(n: int) -> None:
    acc = merkle.Accumulator()
    leaves = _leaves(n)
    for h in leaves:
        acc.append(h)
    assert acc.size == n
    assert acc.root() == merkle.root(leaves)
