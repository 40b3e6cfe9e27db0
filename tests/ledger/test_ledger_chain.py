"""The keyed chain: what an editor without the key can and cannot do, and where the key lives."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.ledger import chain
from server.services.audit import MissingKeyError, resolve_key

KEY = chain.chain_key("secret")


def stored(leaves: list[str]) -> tuple[list[dict[str, object]], chain.Head]:
    macs, head = chain.extend(KEY, "case-1", None, leaves)
    return [{"leaf_hash": leaf, "mac": mac, "position": i + 1}
            for i, (leaf, mac) in enumerate(zip(leaves, macs, strict=True))], head


LEAVES = [f"{i:064x}" for i in range(1, 6)]


def test_an_untouched_chain_and_its_anchor_vouch_for_every_event() -> None:
    events, head = stored(LEAVES)
    assert chain.check_chain(KEY, "case-1", events, head) == []
    # Another key (or another case) vouches for nothing.
    assert chain.check_chain(chain.chain_key("other"), "case-1", events, head)
    assert chain.check_chain(KEY, "case-2", events, head)


def test_an_edit_names_the_event_and_its_successor() -> None:
    events, head = stored(LEAVES)
    events[2]["leaf_hash"] = "f" * 64
    found = chain.check_chain(KEY, "case-1", events, head)
    assert [(p.index, p.what) for p in found] == [(2, "forged"), (3, "unlinked")]


def test_removing_the_newest_event_is_seen_by_the_anchor_even_with_its_fields_rewritten() -> None:
    events, head = stored(LEAVES)
    shorter = events[:-1]
    found = chain.check_chain(KEY, "case-1", shorter, head)
    assert [p.what for p in found] == ["anchor"]
    forged = chain.Head(4, LEAVES[3], head.mac)
    assert "MAC does not match" in chain.check_chain(KEY, "case-1", shorter, forged)[0].detail


def test_the_audit_key_is_kept_in_the_instance_folder_when_none_is_configured(
        tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError, match="no audit key"):
        resolve_key("", tmp_path, create=False)
    key = resolve_key("", tmp_path, create=True)
    assert len(key) == 64 and resolve_key("", tmp_path, create=False) == key
    assert stat.S_IMODE((tmp_path / "audit.key").stat().st_mode) == 0o600
    assert resolve_key("configured", tmp_path, create=False) == "configured"


def test_a_malformed_ed25519_audit_key_fails_at_start_up() -> None:
    from server.config import ConfigError, Settings

    env = {"GUANJIA_MODE": "test", "GUANJIA_SECRET_KEY": "s"}
    with pytest.raises(ConfigError, match="GUANJIA_CHECKPOINT_KEY: ed25519 key must be"):
        Settings.from_env({**env, "GUANJIA_CHECKPOINT_KEY": "ed25519:abc"})
    with pytest.raises(ConfigError, match="is a public key"):
        Settings.from_env({**env, "GUANJIA_CHECKPOINT_KEY": "ed25519-pub:" + "11" * 32})
    ok = Settings.from_env({**env, "GUANJIA_CHECKPOINT_KEY": "ed25519:" + "11" * 32})
    assert ok.checkpoint_key.startswith("ed25519:")
    assert Settings.from_env(env).checkpoint_key == "s"  # the secret key, by default
