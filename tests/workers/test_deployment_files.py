"""The production layout (docker-compose.yml, Dockerfile, .env.example) is coherent.

Docker cannot run here; these checks catch what a reader would: broken YAML, a service that
starts before the schema exists, a second beat, a setting the code reads but nobody documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_postgres_redis_migration_web_workers_and_one_beat() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert services["migrate"]["command"] == ["guanjia", "init-db"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        assert needs["postgres"]["condition"] == "service_healthy", name
        assert needs["redis"]["condition"] == "service_healthy", name
        env = services[name]["environment"]
        assert env["GUANJIA_MODE"] == "production"
        assert env["GUANJIA_BROKER_URL"].startswith("redis://redis:")
        assert env["GUANJIA_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "workers.main", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workers.main", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in ("postgres", "redis", "web", "worker"):
        assert "test" in services[name]["healthcheck"], name
    assert {"postgres-data", "redis-data", "guanjia-data"} <= set(compose()["volumes"])


def test_no_secret_is_written_into_the_compose_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${GUANJIA_SECRET_KEY:?" in text and "${POSTGRES_PASSWORD:?" in text


def test_dockerfile_copies_what_the_app_needs_and_runs_the_factory() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for path in re.findall(r"^COPY (\S+) ", text, flags=re.M):
        assert (ROOT / path).exists(), path
    assert "server:create_app()" in text
    assert "USER guanjia" in text


def test_every_worker_setting_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"(GUANJIA_[A-Z_]+)=",
                                (ROOT / ".env.example").read_text(encoding="utf-8")))
    read = set()
    for source in [ROOT / "server" / "config.py", *(ROOT / "workers").glob("*.py")]:
        read |= set(re.findall(r'"(GUANJIA_[A-Z_]+[A-Z])"', source.read_text(encoding="utf-8")))
    read -= {"GUANJIA_CELERY_"}
    assert read - documented == set()


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${X}, ${X:-default} and ${X:?error} (https://docs.docker.com/compose/)."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == ":-" else ""
    return re.sub(r"\$\{([A-Z_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def test_compose_settings_start_only_with_every_production_secret() -> None:
    import pytest

    from server.config import Settings

    secrets = {"POSTGRES_PASSWORD": "p", "GUANJIA_SECRET_KEY": "s" * 64,
               "GUANJIA_CHECKPOINT_KEY": "c" * 64}
    for name in ("web", "worker", "beat"):
        raw = compose()["services"][name]["environment"]
        env = {k: _interpolate(str(v), secrets) for k, v in raw.items()}
        assert Settings.from_env(env).checkpoint_key == "c" * 64
        for missing in secrets:
            partial = {k: v for k, v in secrets.items() if k != missing}
            with pytest.raises(LookupError, match=missing):
                {k: _interpolate(str(v), partial) for k, v in raw.items()}
