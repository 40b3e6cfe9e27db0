"""The worker's own settings (``GUANJIA_*`` variables), typed and checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from server.config import ConfigError


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value


@dataclass(frozen=True)
class WorkerSettings:
    """How often beat sweeps, how long to wait for a lost message, how to retry."""

    timer_sweep_seconds: float = 30.0
    timer_stuck_seconds: float = 300.0
    deadline_sweep_seconds: float = 900.0
    mail_sweep_seconds: float = 300.0
    checkpoint_seconds: float = 600.0
    max_retries: int = 5
    retry_backoff_seconds: float = 10.0
    fake_now_file: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerSettings:
        """Raises ``ConfigError`` for malformed values."""
        env = os.environ if env is None else env
        fake = env.get("GUANJIA_FAKE_NOW_FILE") or None
        return cls(
            timer_sweep_seconds=_number(env, "GUANJIA_TIMER_SWEEP_SECONDS", 30.0),
            timer_stuck_seconds=_number(env, "GUANJIA_TIMER_STUCK_SECONDS", 300.0),
            deadline_sweep_seconds=_number(env, "GUANJIA_DEADLINE_SWEEP_SECONDS", 900.0),
            mail_sweep_seconds=_number(env, "GUANJIA_MAIL_SWEEP_SECONDS", 300.0),
            checkpoint_seconds=_number(env, "GUANJIA_CHECKPOINT_SECONDS", 600.0),
            max_retries=int(_number(env, "GUANJIA_TASK_MAX_RETRIES", 5)),
            retry_backoff_seconds=_number(env, "GUANJIA_RETRY_BACKOFF_SECONDS", 10.0),
            fake_now_file=Path(fake) if fake else None,
        )
