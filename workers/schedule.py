"""What beat sends, and how often (run exactly one beat per deployment)."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from workers.settings import WorkerSettings


def beat_schedule(settings: WorkerSettings) -> dict[str, dict[str, Any]]:
    return {
        "sweep-due-timers": {"task": "guanjia.timers.sweep",
                             "schedule": settings.timer_sweep_seconds},
        "sweep-deadlines": {"task": "guanjia.deadlines.sweep",
                            "schedule": settings.deadline_sweep_seconds},
        "sweep-waiting-mail": {"task": "guanjia.notifications.sweep_mail",
                               "schedule": settings.mail_sweep_seconds},
        # The audit log's signed checkpoints (a run with no new event signs nothing); verify
        # calls the log unprotected once the newest is older than the county's period.
        "sign-audit-checkpoints": {"task": "guanjia.ledger.checkpoint",
                                   "schedule": settings.checkpoint_seconds},
        # Seed 001: the previous month's key-project table is due on the 5th; make it on the
        # 1st at 01:00 Beijing time (17:00 UTC the day before is simpler to avoid: 1st 00:00).
        # Periodic return visits of finished cases (定期回访, issue 13): hourly is plenty.
        "sweep-return-visits": {"task": "guanjia.return_visits.sweep", "schedule": 3600.0},
        "monthly-report": {"task": "guanjia.reports.previous_month",
                           "schedule": crontab(minute=0, hour=0, day_of_month=1)},
        # Seed 002 §三(四): milestones count in days, so one sweep a day is enough (01:30 UTC).
        "sweep-aftercare-milestones": {"task": "guanjia.aftercare.sweep",
                                       "schedule": crontab(minute=30, hour=1)},
        # Seeds 001 四（四） and 004 六: the reports due this month, prepared as drafts for the
        # stewards' feedback and the 主要负责人's sign-off (00:05 UTC is 08:05 on the 1st in
        # Beijing: the local date is the 1st, the month before is complete).
        "prepare-reports": {"task": "guanjia.reports.prepare_due",
                            "schedule": crontab(minute=5, hour=0, day_of_month=1)},
    }
