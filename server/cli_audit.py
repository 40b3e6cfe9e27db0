"""``guanjia audit``: verify the log, sign checkpoints, prove one event, export, 一事一档."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from server import create_app
from server.config import Settings
from server.extensions import db
from server.ledger.checkpoint import CheckpointError, public_key_spec
from server.models import User
from server.services import exports, ledger
from server.services.audit import MissingKeyError, resolve_key
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.ledger import check_proof


@contextmanager
def _app() -> Iterator[Flask]:
    """An app context whose connections are closed on the way out (the command is short)."""

    app = create_app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@click.group("audit")
def audit() -> None:
    """审计: tamper evidence, proofs and exports of the audit log."""


VERIFIED, TAMPERED, UNCHECKED = 0, 1, 2


@audit.command("verify")
@click.option("--case", "case_id", default=None, help="verify one case instead of the whole log")
@click.option("--reexecute", is_flag=True,
              help="also re-execute every case's recorded inputs and compare the stored state "
                   "(slow: one engine run per case)")
def verify_command(case_id: str | None, reexecute: bool) -> None:
    """Name every event that was altered, removed or inserted.

    Exit status: 0 verified, 1 tampered (one line per finding, naming the event or case),
    2 could not check (database unreachable, no audit key, malformed key).
    """


    what = f"case {case_id}" if case_id else "the whole log"
    try:
        with _app():
            findings = ledger.verify(case_id, reexecute=reexecute)
            summary = ledger.verification_summary(case_id)
    except DBAPIError as exc:
        click.echo(f"COULD NOT CHECK {what}: the database is unreachable "
                   f"({type(exc.orig).__name__ if exc.orig else type(exc).__name__}: "
                   f"{str(exc.orig or exc).strip().splitlines()[0]})", err=True)
        sys.exit(UNCHECKED)
    except (MissingKeyError, CheckpointError) as exc:
        click.echo(f"COULD NOT CHECK {what}: {exc}", err=True)
        sys.exit(UNCHECKED)
    except NotFoundError as exc:
        click.echo(f"COULD NOT CHECK: {exc}", err=True)
        sys.exit(UNCHECKED)
    for f in findings:
        click.echo(f"TAMPERED {f}")
    if findings:
        click.echo(f"NOT VERIFIED: {len(findings)} finding(s) in {what}", err=True)
        sys.exit(TAMPERED)
    click.echo(f"OK: {what} verifies: {summary}")


@audit.command("checkpoint")
def checkpoint_command() -> None:
    """Sign checkpoints of the whole log and of every case changed since its last one."""

    with _app():
        run = ledger.make_checkpoints()
    for cp in run.made:
        click.echo(f"signed {cp['scope']} size {cp['tree_size']} root {cp['root'][:16]}…")
    for scope, why in run.refused.items():
        click.echo(f"REFUSED {scope}: {why}", err=True)
    if run.refused:
        sys.exit(1)


@audit.command("adopt-chain")
def adopt_chain_command() -> None:
    """Once, after upgrading: bring the history written before the keyed chain under it.

    Refuses (exit 1) when the log is wrong in any other way than its missing MACs.
    """

    with _app():
        try:
            adopted = ledger.adopt_chain("guanjia audit adopt-chain")
        except ConflictError as exc:
            click.echo(f"REFUSED: {exc}", err=True)
            sys.exit(1)
    if not adopted:
        click.echo("nothing to adopt: every event already carries its MAC")
        return
    click.echo(f"adopted {sum(adopted.values())} event(s) of {len(adopted)} scope(s); "
               "verify them with guanjia audit verify")


@audit.command("public-key")
def public_key_command() -> None:
    """Print the Ed25519 public key auditors verify checkpoints and case files with."""

    with _app():
        key = ledger.checkpoint_key(create=False)
    try:
        click.echo(public_key_spec(key))
    except CheckpointError as exc:
        click.echo(f"no public key: {exc} (set GUANJIA_CHECKPOINT_KEY=ed25519:<64 hex>)",
                   err=True)
        sys.exit(1)


@audit.command("proof")
@click.option("--event", "seq", required=True, type=int, help="the event's seq")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def proof_command(seq: int, output: Path | None) -> None:
    """Export the inclusion proof of one event as JSON (check it with ``check-proof``)."""

    with _app():
        doc = ledger.event_proof(seq)
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"proof of event {seq} written to {output}")


@audit.command("check-proof")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", default=None,
              help="HMAC secret or ed25519-pub:<hex> (default: this installation's key)")
def check_proof_command(path: Path, key: str | None) -> None:
    """Check an exported inclusion proof offline (no database); exit 1 if it fails."""

    if key is None:
        settings = Settings.from_env()
        key = resolve_key(settings.checkpoint_key, settings.instance_dir, create=False)
    problems = check_proof(json.loads(path.read_text(encoding="utf-8")), key)
    for p in problems:
        click.echo(f"FAIL: {p}")
    if problems:
        sys.exit(1)
    click.echo("OK: the event is included in the signed log")


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["xes", "ocel", "csv"]), required=True)
@click.option("--case", "case_ids", multiple=True, help="a case id (repeatable); default all")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--unmasked", is_flag=True,
              help="include personal data (contact names, phone and ID numbers); needs "
                   "--as an auditor and --purpose, and is itself audited")
@click.option("--as", "username", default=None, help="the auditor asking for personal data")
@click.option("--purpose", default="", help="why the personal data is needed (audited)")
def export_command(fmt: str, case_ids: tuple[str, ...], output: Path, unmasked: bool,
                   username: str | None, purpose: str) -> None:
    """Export cases as XES, OCEL 2.0 JSON or CSV (personal data masked unless asked for)."""


    writer = {"xes": exports.to_xes, "ocel": exports.to_ocel, "csv": exports.to_csv}[fmt]
    with _app():
        if unmasked:
            user = db.session.execute(select(User).where(User.username == username)
                                      ).scalar_one_or_none() if username else None
            if user is None:
                raise click.UsageError("--unmasked needs --as <an auditor's user name>")
            try:
                exports.personal_data_export(user, fmt, list(case_ids) or None, purpose)
            except (PermissionDeniedError, ValidationFailedError) as exc:
                raise click.UsageError(str(exc)) from exc
        data = writer(list(case_ids) or None, unmasked=unmasked)
    output.write_bytes(data)
    click.echo(f"{fmt} written to {output} ({len(data)} bytes)")


@audit.command("casefile")
@click.option("--case", "case_id", required=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def casefile_command(case_id: str, output: Path | None) -> None:
    """Write the case archive (一事一档); check it with tools/verify_casefile.py."""

    with _app():
        case, data = exports.casefile(case_id)
        target = output or Path(f"{case.reference}.zip")
    target.write_bytes(data)
    click.echo(f"case file written to {target} ({len(data)} bytes)")
