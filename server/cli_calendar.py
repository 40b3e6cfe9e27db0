"""``guanjia calendar``: deadlines and holiday notices from the command line (administrators).

``guanjia calendar due START N [--county CODE] [--calendar-days]`` prints the deadline of a
period of N working days (or calendar days) from START, and whether it is provisional (a year
whose State Council notice is not loaded was counted with its statutory holidays only).
Without ``--county`` it counts with the national calendar and the installation's default office
hours. ``guanjia calendar load FILE [--county CODE]`` loads a national notice, or with
``--county`` a county's local notice, in the format the calendar page takes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import select

from server.cli_audit import _app
from server.extensions import db
from server.models import User
from server.rules.workdays import SHANGHAI, LimitKind
from server.services.calendar import current_calendar, require_county
from server.services.calendar_changes import load_notice
from server.services.errors import PermissionDeniedError, ValidationFailedError


@click.group("calendar")
def calendar() -> None:
    """Working-day calendar: compute a deadline, load a holiday notice."""


@calendar.command("due")
@click.argument("start")
@click.argument("n", type=click.IntRange(min=0))
@click.option("--county", default=None, help="count with this county's calendar (code)")
@click.option("--calendar-days", is_flag=True,
              help="count calendar days (自然日), not working days")
def due_command(start: str, n: int, county: str | None, calendar_days: bool) -> None:
    """Print the deadline N days after START (ISO date-time with offset, e.g.
    2026-12-31T09:00+08:00)."""

    try:
        begin = datetime.fromisoformat(start)
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {start!r}", param_hint="START") from None
    if begin.tzinfo is None:
        raise click.BadParameter("give the offset, e.g. 2026-12-31T09:00+08:00",
                                 param_hint="START")
    kind = LimitKind.CALENDAR if calendar_days else LimitKind.WORKING
    with _app():
        try:
            require_county(county)
        except ValidationFailedError as exc:
            raise click.BadParameter(str(exc), param_hint="--county") from None
        deadline = current_calendar(county=county, refresh=True).add_days(begin, n, kind)
    click.echo(deadline.at.astimezone(SHANGHAI).isoformat())
    click.echo("provisional: yes (a year without its State Council notice was counted with its "
               "statutory holidays only)" if deadline.provisional else "provisional: no")


@calendar.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--county", default=None, help="a county's local notice (code)")
@click.option("--as", "username", default="admin", show_default=True,
              help="the administrator the load is recorded for")
def load_command(file: Path, county: str | None, username: str) -> None:
    """Load a holiday notice from FILE (the calendar page's format)."""


    text = file.read_text(encoding="utf-8")
    with _app():
        user = db.session.execute(
            select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        try:
            result = load_notice(user, text, county=county)
        except ValidationFailedError as exc:
            line = exc.extra.get("line")
            where = f"{file}:{line}: " if line else f"{file}: "
            raise click.ClickException(where + str(exc)) from None
        except PermissionDeniedError as exc:
            raise click.ClickException(str(exc)) from None
    scope = f"county {county}" if county else "national"
    click.echo(f"loaded {result.days} days ({scope}; years {', '.join(map(str, result.years))}); "
               f"{len(result.recomputed)} open deadlines recomputed")
