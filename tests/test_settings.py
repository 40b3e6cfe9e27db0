"""Settings fail closed: empty counts as unset, production names its secrets, and embedded
mode keeps one generated secret for every process of an installation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.config import ROOT, ConfigError, Settings

PRODUCTION = {"GUANJIA_MODE": "production", "GUANJIA_SECRET_KEY": "s" * 64,
              "GUANJIA_CHECKPOINT_KEY": "c" * 64,
              "GUANJIA_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/x",
              "GUANJIA_BROKER_URL": "redis://127.0.0.1:6379/0"}


def test_empty_values_count_as_unset(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "GUANJIA_MODE": "", "GUANJIA_INSTANCE_DIR": str(tmp_path), "GUANJIA_SMTP_PORT": " ",
        "GUANJIA_PROCESSES_DIR": "", "GUANJIA_FORMS_DIR": "", "GUANJIA_TOKEN_TTL_HOURS": ""})
    assert settings.mode == "embedded" and settings.smtp_port == 8025
    assert settings.processes_dir == ROOT / "processes" and settings.token_ttl_hours == 12


@pytest.mark.parametrize("missing", ["GUANJIA_SECRET_KEY", "GUANJIA_CHECKPOINT_KEY"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_production_refuses_to_start_without_its_secrets(missing: str, value: str | None
                                                         ) -> None:
    env = dict(PRODUCTION)
    if value is None:
        del env[missing]
    else:
        env[missing] = value
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env(env)
    assert Settings.from_env(PRODUCTION).checkpoint_key == "c" * 64


def test_the_light_password_hash_is_for_the_test_suite_only(tmp_path: Path) -> None:
    assert Settings.from_env(PRODUCTION).password_hash == "standard"
    assert Settings.from_env({"GUANJIA_INSTANCE_DIR": str(tmp_path)}).password_hash == "standard"
    for mode in ("production", "embedded"):
        with pytest.raises(ConfigError, match="GUANJIA_PASSWORD_HASH"):
            Settings.from_env({**PRODUCTION, "GUANJIA_MODE": mode,
                               "GUANJIA_INSTANCE_DIR": str(tmp_path),
                               "GUANJIA_PASSWORD_HASH": "light"})


def test_embedded_mode_keeps_its_generated_secret_in_the_instance_folder(tmp_path: Path
                                                                          ) -> None:
    env = {"GUANJIA_INSTANCE_DIR": str(tmp_path / "instance"), "GUANJIA_SECRET_KEY": ""}
    first, second = Settings.from_env(env), Settings.from_env(env)
    assert first.secret_key == second.secret_key and len(first.secret_key) == 64
    # The audit key is not the web secret: it lives in the instance folder on its own
    # (server.services.audit.audit_key), so an unset key never means a per-process one.
    assert first.checkpoint_key == ""
    kept = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    other = Settings.from_env({"GUANJIA_INSTANCE_DIR": str(tmp_path / "other")})
    assert other.secret_key != first.secret_key


def test_audit_verify_in_another_process_accepts_an_untouched_log(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    """A checkpoint written by one process verifies in the next (embedded, no secret set)."""
    from server import create_app
    from server.cli import main, upgrade_database
    from server.extensions import db
    from server.services.audit import record_event

    env = {"GUANJIA_INSTANCE_DIR": str(tmp_path / "instance"),
           "GUANJIA_DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite'}",
           "GUANJIA_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'b.sqlite'}"}
    for name in ("GUANJIA_SECRET_KEY", "GUANJIA_CHECKPOINT_KEY", "GUANJIA_MODE"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_app(Settings.from_env())
    upgrade_database(app)
    with app.app_context():
        record_event(None, "deployment_created", actor="admin", payload={"deployment": 1})
        db.session.commit()
        db.engine.dispose()
    # Each command reads its settings afresh, as a new process would.
    signed = CliRunner().invoke(main, ["audit", "checkpoint"])
    assert signed.exit_code == 0, signed.output
    checked = CliRunner().invoke(main, ["audit", "verify"])
    assert checked.exit_code == 0, checked.output
    assert "NOT VERIFIED" not in checked.output
