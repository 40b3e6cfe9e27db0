"""The environment a ``guanjia`` command needs to work on the test app's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask


def point_cli_at(app: Flask, instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the ``GUANJIA_*`` variables so a command run in this process (CliRunner) reads the
    test app's database, secret, diagrams and forms, with ``instance`` as its folder."""
    settings = app.config["GUANJIA"]
    for name, value in {"GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": settings.database_url,
                        "GUANJIA_INSTANCE_DIR": str(instance),
                        "GUANJIA_SECRET_KEY": settings.secret_key,
                        "GUANJIA_PROCESSES_DIR": str(settings.processes_dir),
                        "GUANJIA_FORMS_DIR": str(settings.forms_dir)}.items():
        monkeypatch.setenv(name, value)
