"""The production layout (docker-compose.yml, Dockerfile, .env.example) is coherent.

Docker (and ``docker compose config``) cannot run here: the compose file is read as YAML and
the Dockerfile as its instructions, and their structure is checked: a service that starts
before the schema exists, a second beat, a secret with a fallback, a COPY of a missing path,
the server running as root, a setting the code reads but nobody documents.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from tests.helpers.deployment import dockerfile

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
    assert services["web"]["command"][0] == "granian"
    assert services["worker"]["command"][:4] == ["celery", "-A", "workers.main", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workers.main", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in ("postgres", "redis", "web", "worker"):
        assert "test" in services[name]["healthcheck"], name
    assert {"postgres-data", "redis-data", "guanjia-data"} <= set(compose()["volumes"])


#: The secrets production needs; compose must require each from the environment.
SECRETS = ("POSTGRES_PASSWORD", "GUANJIA_SECRET_KEY", "GUANJIA_CHECKPOINT_KEY")


def test_no_secret_is_written_into_the_compose_file() -> None:
    given = {name: f"given-{name.lower()}" for name in SECRETS}
    seen: set[str] = set()
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if key in SECRETS:
                # Exactly a required interpolation: nothing to fall back on.
                assert re.fullmatch(rf"\$\{{{key}:\?[^}}]+\}}", value), (name, key, value)
                seen.add(key)
            if key == "GUANJIA_DATABASE_URL":
                url = make_url(_interpolate(value, given))
                assert url.password == given["POSTGRES_PASSWORD"], name
    assert seen == set(SECRETS)


def test_dockerfile_copies_what_the_app_needs_and_runs_the_factory() -> None:
    instructions = dockerfile()
    keywords = [k for k, _ in instructions]
    assert keywords[0] == "FROM"
    for keyword, args in instructions:
        if keyword == "COPY":
            *sources, _target = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    copied = {args.split()[0] for k, args in instructions if k == "COPY"}
    assert {"server", "workers", "processes", "forms", "frontend/dist"} <= copied
    env = " ".join(args for k, args in instructions if k == "ENV").split()
    assert "GUANJIA_MODE=production" in env
    # The server runs as the unprivileged user: the last USER comes before the command.
    users = [i for i, k in enumerate(keywords) if k == "USER"]
    assert users and instructions[users[-1]][1] == "guanjia"
    [cmd] = [i for i, k in enumerate(keywords) if k == "CMD"]
    assert users[-1] < cmd and "ENTRYPOINT" not in keywords
    command = json.loads(instructions[cmd][1])
    assert command[0] == "granian" and command[-2:] == ["--factory", "server:create_app"]
    assert command[command.index("--interface") + 1] == "wsgi"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "8000"
    # The web service runs what the image runs (tests/web/test_production_server.py starts it).
    assert compose()["services"]["web"]["command"] == command
    assert ("EXPOSE", "8000") in instructions


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
