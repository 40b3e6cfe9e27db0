"""The background tasks: each has a dotted name, takes ids, and calls one service.

Delivery is at least once (late acknowledgement, redelivery when a worker dies), so every
handler is idempotent. A step that fails is retried with a growing pause; after the last
retry it becomes an incident that a person can see on the case and retry.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Retry
from flask import current_app

from server.extensions import db
from server.services import (
    aftercare,
    incidents,
    ledger,
    notifications,
    report_books,
    reports,
    return_visits,
    timers,
)
from server.services.background import fails_every_time
from workers.dispatch import send
from workers.settings import WorkerSettings

log = logging.getLogger(__name__)


def _settings() -> WorkerSettings:
    settings: WorkerSettings = current_app.extensions["guanjia.workers"]
    return settings


def _run_step(task: Task, args: list[Any], step: Callable[[], Any], *,
              case_id: str | None = None,
              on_give_up: Callable[[], object] | None = None) -> Any:
    """Run ``step``; on failure retry with backoff, then open an incident and stop."""
    settings = _settings()
    try:
        result = step()
    except Retry:
        raise
    except Exception as exc:
        db.session.rollback()
        attempt = task.request.retries
        # A script over its time or size limit fails the same way every time: no retries.
        if attempt < settings.max_retries and not fails_every_time(exc):
            countdown = min(settings.retry_backoff_seconds * (2 ** attempt), 3600.0)
            log.warning("%s%r failed (attempt %d): %s; retrying in %.1fs",
                        task.name, args, attempt + 1, exc, countdown)
            raise task.retry(exc=exc, countdown=countdown,
                             max_retries=settings.max_retries) from exc
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        incident = incidents.open_incident(task_name=task.name, args=args, error=error,
                                           attempts=attempt + 1, case_id=case_id)
        log.error("%s%r gave up after %d attempts: incident %s", task.name, args,
                  attempt + 1, incident.id)
        if on_give_up is not None:
            on_give_up()
        return None
    incidents.resolve_step(task.name, args)
    return result


#: Due cases go out in batches: one message per case costs a broker round trip each, and a
#: sweep of 500 due cases must stay well under a second. Spread over at least this many
#: messages so several workers share a sweep.
FIRE_BATCH_MAX, FIRE_SPREAD = 25, 8


def batches(case_ids: list[str]) -> list[list[str]]:
    size = max(1, min(FIRE_BATCH_MAX, -(-len(case_ids) // FIRE_SPREAD)))
    return [case_ids[i:i + size] for i in range(0, len(case_ids), size)]


@shared_task(name="guanjia.timers.sweep", bind=True, ignore_result=True)
def sweep_timers(self: Task) -> int:
    """Claim due timers and send their cases out to be fired (beat sends this); the counties'
    cases go out in turn, so every county with a due timer has a case in the first batch."""

    stuck = _settings().timer_stuck_seconds
    sweep = timers.claim_due_timers(stuck_after=timedelta(seconds=stuck))
    for batch in batches(sweep.case_ids):
        send("guanjia.timers.fire_cases", [batch])
    if sweep.case_ids:
        log.info("timer sweep: %d due, %d stuck, %d cases of %d counties in %.3fs",
                 sweep.due, sweep.stuck, len(sweep.case_ids), len(sweep.by_county),
                 sweep.seconds)
    return len(sweep.case_ids)


@shared_task(name="guanjia.timers.fire_cases", bind=True, ignore_result=True)
def fire_cases(self: Task, case_ids: list[str]) -> int:
    """Fire a batch of cases one by one; a case that fails goes on alone (retries, incident).

    Redelivered after a crash, the cases already fired find nothing due and are skipped.
    """
    fired = 0
    for case_id in case_ids:
        try:
            fired += len(timers.fire_case_timers(case_id))
        except Exception as exc:  # noqa: BLE001 - the single-case task retries and reports
            db.session.rollback()
            log.warning("firing case %s failed (%s); handing it to its own task", case_id, exc)
            send("guanjia.timers.fire_case", [case_id])
    return fired


@shared_task(name="guanjia.timers.fire_case", bind=True, ignore_result=True)
def fire_case(self: Task, case_id: str) -> int:
    """Fire the due timers of one case; a case with nothing due is left alone."""
    fired = _run_step(self, [case_id], lambda: timers.fire_case_timers(case_id),
                      case_id=case_id, on_give_up=lambda: timers.park_failed_timers(case_id))
    return len(fired or [])


@shared_task(name="guanjia.cases.continue_case", bind=True, ignore_result=True)
def continue_case(self: Task, case_id: str) -> bool:
    """Run a case on in the background (engine steps that need no person)."""
    return bool(_run_step(self, [case_id], lambda: timers.advance_case(case_id),
                          case_id=case_id))


@shared_task(name="guanjia.deadlines.sweep", bind=True, ignore_result=True)
def sweep_deadlines(self: Task) -> dict[str, int]:
    """Recompute the lights of open items and send warnings, overdue alerts and urgings."""
    result = _run_step(self, [], timers.sweep_deadlines)
    return dict(result or {})


@shared_task(name="guanjia.notifications.send_email", bind=True, ignore_result=True)
def send_email(self: Task, notification_id: int) -> bool:
    """Mail one notice (once: a notice already mailed is skipped)."""
    def give_up() -> None:
        notifications.mark_email_failed(notification_id)

    case_id = notifications.case_of_delivery(notification_id)
    db.session.rollback()
    return bool(_run_step(self, [notification_id],
                          lambda: notifications.send_email(notification_id),
                          case_id=case_id, on_give_up=give_up))


@shared_task(name="guanjia.notifications.sweep_mail", bind=True, ignore_result=True)
def sweep_mail(self: Task) -> int:
    """Send again the mail whose message was lost (the broker was down at commit)."""
    ids = notifications.mail_waiting()
    for notification_id in ids:
        send("guanjia.notifications.send_email", [notification_id])
    return len(ids)


@shared_task(name="guanjia.ledger.checkpoint", bind=True, ignore_result=True)
def sign_checkpoints(self: Task) -> int:
    """Sign checkpoints of the audit log and of changed cases, if anything new was written."""
    run = _run_step(self, [], ledger.checkpoint_if_new_events)
    if run is not None and run.refused:
        # Refusing to sign over history that no longer verifies is the alarm: say it loudly.
        log.error("audit checkpoints refused: %s", run.refused)
    return len(run.made) if run is not None else 0


@shared_task(name="guanjia.reports.monthly", bind=True, ignore_result=True)
def monthly_report(self: Task, year: int, month: int) -> str:
    """Write the key-project table of one month (CSV and HTML); returns the CSV path."""
    paths = _run_step(self, [year, month], lambda: reports.write_monthly_report(year, month))
    return str(paths[0]) if paths else ""


@shared_task(name="guanjia.reports.previous_month", bind=True, ignore_result=True)
def previous_month_report(self: Task) -> str:
    """Beat's monthly trigger: the table of the month that just ended."""
    year, month = reports.previous_month()
    send("guanjia.reports.monthly", [year, month])
    return f"{year}-{month:02d}"


@shared_task(name="guanjia.return_visits.sweep", bind=True, ignore_result=True)
def sweep_return_visits(self: Task) -> dict[str, int]:
    """Schedule, open and chase the periodic return visits of finished cases."""

    result = _run_step(self, [], return_visits.sweep)
    return dict(result or {})


@shared_task(name="guanjia.aftercare.sweep", bind=True, ignore_result=True)
def sweep_aftercare(self: Task) -> dict[str, int]:
    """Start after-care of completed cases, warn before milestones, open supervision tasks
    for missed ones (seed 002 §三(四))."""

    result = _run_step(self, [], aftercare.sweep_milestones)
    return dict(result.__dict__) if result is not None else {}


@shared_task(name="guanjia.reports.prepare_due", bind=True, ignore_result=True)
def prepare_due_reports(self: Task) -> list[int]:
    """Beat's trigger on the 1st: prepare the reports due this month (seeds 001, 004) as
    drafts; a redelivery finds them prepared and changes nothing. Returns their ids."""
    made = _run_step(self, [], report_books.prepare_due)
    return [r.id for r in made] if made else []
