"""Every setting guanjia reads, typed and validated once at start-up.

Settings come from ``GUANJIA_*`` environment variables. The embedded mode (the default, for a
laptop or a demo) runs on SQLite with an in-database broker; anything else must name its
secret key explicitly: there is no default secret outside embedded mode.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from server.ledger.checkpoint import CheckpointError, sign_message

ROOT = Path(__file__).resolve().parent.parent


def shipped(name: str) -> Path:
    """The shipped ``processes``/``forms`` folder: the checkout's, else the installed wheel's
    (``<prefix>/share/guanjia/<name>``, see pyproject's data-files)."""
    here = ROOT / name
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "guanjia" / name


def shipped_bundles() -> Path:
    """The built third-party browser bundles (bpmn-js, dmn-js, form-js, Chart.js), served at
    ``/static/vendor/``: the checkout's ``frontend/dist`` (built there by ``frontend``'s
    build), else the installed wheel's ``<prefix>/share/guanjia/vendor``. They stay out of
    the Python sources, whose library internals are fenced (docs/engine.md)."""
    here = ROOT / "frontend" / "dist"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "guanjia" / "vendor"


class ConfigError(RuntimeError):
    """A setting is missing or malformed."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"not a boolean: {value!r}")


def _instance_secret(instance_dir: Path) -> str:
    """The embedded mode's generated secret, kept in the instance folder so every process of
    one installation (web, worker, ``guanjia audit verify``) signs and checks alike."""
    path = instance_dir / "secret_key"
    try:
        found = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        found = ""
    if found:
        return found
    instance_dir.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first: use theirs
        return path.read_text(encoding="utf-8").strip() or fresh
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(fresh)
    return fresh


def _check_checkpoint_key(key: str) -> None:
    """An Ed25519 audit key must be usable at start-up, not when the first case ends."""
    if not key.startswith("ed25519"):
        return
    if key.startswith("ed25519-pub:"):
        raise ConfigError("GUANJIA_CHECKPOINT_KEY is a public key: the installation signs with "
                          "the private one (ed25519:<64 hex>); auditors hold the public one")

    try:
        sign_message(b"", key)
    except CheckpointError as exc:
        raise ConfigError(f"GUANJIA_CHECKPOINT_KEY: {exc}") from exc


@dataclass(frozen=True)
class Settings:
    """The typed settings of one guanjia process."""

    mode: str
    database_url: str
    secret_key: str
    broker_url: str
    result_backend: str | None
    processes_dir: Path
    forms_dir: Path
    instance_dir: Path
    token_ttl_hours: int
    max_upload_bytes: int
    max_xml_bytes: int
    celery_always_eager: bool
    smtp_host: str
    smtp_port: int
    mail_sender: str
    checkpoint_key: str
    #: The time the scripts and conditions of one engine step may take together, and the
    #: largest value one script operation may build (``server/engine/scripting.py``).
    script_seconds: float = 1.0
    script_max_bytes: int = 32 * 1024 * 1024
    #: Sign-in: wrong passwords for one name before it is locked for ``login_lock_minutes``,
    #: attempts per address, and where the counts live (Redis in production, so every
    #: process shares them; in-process memory in embedded mode).
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    login_rate: str = "30 per minute"
    #: Password rules (等保 2.0 basics, ``server/rules/passwords.py``): the shortest length
    #: (never under 8) and how many earlier passwords of a user a new one may not repeat.
    #: Installation settings, not county ones: one rule for everyone who signs in here.
    password_min_length: int = 8
    password_history: int = 5
    #: "standard": argon2-cffi's default argon2id (RFC 9106's low-memory profile, ~0.2 s a
    #: check here). "light": one pass over 8 KiB, for the test suite only — it signs in
    #: thousands of times; every check still runs the same code. Refused outside test mode.
    password_hash: str = "standard"
    ratelimit_storage_url: str = "memory://"
    #: The most entries a list in a case's starting data may hold: each becomes a parallel
    #: branch (multi-instance) of the case, and a case of thousands takes minutes to start.
    max_instances: int = 1000
    # County settings of the audit ledger: how old the newest log checkpoint may grow before
    # verify calls the log unprotected, and an optional file every checkpoint is copied to.
    checkpoint_max_age_minutes: int = 30
    checkpoint_anchor: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)
    catalog_file: Path | None = None

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); raises ``ConfigError``."""
        # An empty (or blank) value counts as unset: compose's `${X:-}` must not switch a
        # default off, and least of all set an empty secret.
        env = {k: v for k, v in (os.environ if env is None else env).items() if v.strip()}
        mode = env.get("GUANJIA_MODE", "embedded")
        if mode not in {"embedded", "production", "test"}:
            raise ConfigError(f"GUANJIA_MODE must be embedded, production or test, not {mode!r}")
        instance_dir = Path(env.get("GUANJIA_INSTANCE_DIR", str(ROOT / "instance")))
        database_url = env.get("GUANJIA_DATABASE_URL") or (
            f"sqlite:///{instance_dir / 'guanjia.sqlite'}" if mode != "production" else ""
        )
        if not database_url:
            raise ConfigError("GUANJIA_DATABASE_URL is required in production")
        secret_key = env.get("GUANJIA_SECRET_KEY", "")
        if not secret_key:
            if mode == "production":
                raise ConfigError("GUANJIA_SECRET_KEY is required in production")
            secret_key = _instance_secret(instance_dir) if mode == "embedded" else \
                secrets.token_hex(32)
        if mode == "production" and not env.get("GUANJIA_CHECKPOINT_KEY"):
            # Checkpoints prove the audit log untouched: their key is never implied.
            raise ConfigError("GUANJIA_CHECKPOINT_KEY is required in production "
                              "(it signs the audit log's checkpoints)")
        broker_url = env.get("GUANJIA_BROKER_URL") or (
            f"sqla+sqlite:///{instance_dir / 'broker.sqlite'}" if mode != "production" else ""
        )
        if not broker_url:
            raise ConfigError("GUANJIA_BROKER_URL is required in production")
        _check_checkpoint_key(env.get("GUANJIA_CHECKPOINT_KEY", ""))
        password_hash = env.get("GUANJIA_PASSWORD_HASH") or (
            "light" if mode == "test" else "standard")
        if password_hash not in {"standard", "light"} or (
                password_hash == "light" and mode != "test"):
            raise ConfigError("GUANJIA_PASSWORD_HASH must be standard (light is for the test "
                              f"suite only), not {password_hash!r}")
        try:
            return cls(
                mode=mode,
                database_url=database_url,
                secret_key=secret_key,
                broker_url=broker_url,
                result_backend=env.get("GUANJIA_RESULT_BACKEND") or None,
                processes_dir=Path(env.get("GUANJIA_PROCESSES_DIR", str(shipped("processes")))),
                forms_dir=Path(env.get("GUANJIA_FORMS_DIR", str(shipped("forms")))),
                instance_dir=instance_dir,
                token_ttl_hours=int(env.get("GUANJIA_TOKEN_TTL_HOURS", "12")),
                max_upload_bytes=int(env.get("GUANJIA_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))),
                max_xml_bytes=int(env.get("GUANJIA_MAX_XML_BYTES", str(5 * 1024 * 1024))),
                celery_always_eager=_bool(env.get("GUANJIA_CELERY_EAGER"), False),
                smtp_host=env.get("GUANJIA_SMTP_HOST", "127.0.0.1"),
                smtp_port=int(env.get("GUANJIA_SMTP_PORT", "8025")),
                mail_sender=env.get("GUANJIA_MAIL_SENDER", "guanjia@localhost"),
                # Unset: the secret key when one is given, else the audit key the instance
                # folder keeps (server.services.audit.audit_key) — never a generated secret,
                # under which history written by another process would not verify.
                checkpoint_key=env.get("GUANJIA_CHECKPOINT_KEY")
                or env.get("GUANJIA_SECRET_KEY", ""),
                max_instances=int(env.get("GUANJIA_MAX_INSTANCES") or 1000),
                login_max_failures=int(env.get("GUANJIA_LOGIN_MAX_FAILURES") or 5),
                login_lock_minutes=int(env.get("GUANJIA_LOGIN_LOCK_MINUTES") or 15),
                login_rate=env.get("GUANJIA_LOGIN_RATE") or "30 per minute",
                password_min_length=max(8, int(env.get("GUANJIA_PASSWORD_MIN_LENGTH") or 8)),
                password_history=max(0, int(env.get("GUANJIA_PASSWORD_HISTORY") or 5)),
                password_hash=password_hash,
                ratelimit_storage_url=env.get("GUANJIA_RATELIMIT_STORAGE_URL") or (
                    broker_url if broker_url.startswith(("redis://", "rediss://"))
                    else "memory://"),
                script_seconds=float(env.get("GUANJIA_SCRIPT_SECONDS") or 1.0),
                script_max_bytes=int(float(env.get("GUANJIA_SCRIPT_MAX_MB") or 32)
                                     * 1024 * 1024),
                checkpoint_max_age_minutes=int(env.get("GUANJIA_CHECKPOINT_MAX_AGE_MINUTES",
                                                       "30")),
                checkpoint_anchor=Path(env["GUANJIA_CHECKPOINT_ANCHOR"])
                if env.get("GUANJIA_CHECKPOINT_ANCHOR") else None,
                catalog_file=Path(env["GUANJIA_CATALOG_FILE"])
                if env.get("GUANJIA_CATALOG_FILE") else None,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
