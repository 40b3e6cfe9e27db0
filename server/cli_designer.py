"""``guanjia export``: write what is deployed back into ``processes/``-style files."""

from __future__ import annotations

from pathlib import Path

import click

from server import create_app
from server.extensions import db
from server.services.designer import export as export_files


@click.command("export")
@click.option("--deployment", "number", type=int, default=None,
              help="version number (default: the newest)")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder to write into (default: GUANJIA_PROCESSES_DIR)")
def export(number: int | None, target: Path | None) -> None:
    """Write a deployed version's BPMN and DMN files into a folder (e.g. to commit them)."""

    app = create_app()
    with app.app_context():
        folder = target or app.config["GUANJIA"].processes_dir
        try:
            for path in export_files(number, folder):
                click.echo(str(path))
        finally:
            db.session.remove()
            db.engine.dispose()
