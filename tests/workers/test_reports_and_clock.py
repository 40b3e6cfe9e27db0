"""The monthly key-project table, and the worker's file clock."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.config import ConfigError
from server.engine import clock
from server.engine.clock import FrozenClock
from server.extensions import db
from server.services import reports
from tests.conftest import Api
from tests.workers.helpers import approve_review, start_case, write_now
from workers.clock import FileClock, install_file_clock


def test_monthly_key_project_table_is_written_as_csv_and_html(
        api: Api, frozen_clock: FrozenClock) -> None:
    case_id = start_case(api, project_name="年产10GWh储能电池基地")
    approve_review(api, case_id)
    with api.app.app_context():
        csv_path, html_path = reports.write_monthly_report(2026, 11)
        first = csv_path.read_bytes()
        # Written again (a redelivered task), the table is the same.
        assert reports.write_monthly_report(2026, 11)[0].read_bytes() == first
        assert reports.stored_reports() == [csv_path]
        # October had no open case: the table has its header only.
        october, _ = reports.write_monthly_report(2026, 10)
        db.session.remove()
    rows = list(csv.reader(io.StringIO(first.decode("utf-8-sig"))))
    assert rows[0] == reports.COLUMNS
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["项目名称"] == "年产10GWh储能电池基地"
    assert row["投资额（万元）"] == "120000"
    assert row["申请日期"] == "2026-11-23" and row["状态"] == "推进中"
    # Two approval items, neither in hand yet: the review and the task sheets are tasks.
    assert row["审批事项"] == "2" and row["已办结事项"] == "0" and row["在办事项"] == "0"
    assert row["超期事项"] == "0"
    assert "重点招商项目情况表（2026年11月）" in html_path.read_text(encoding="utf-8")
    assert len(october.read_text(encoding="utf-8-sig").splitlines()) == 1
    assert reports.previous_month(datetime(2026, 1, 3, tzinfo=UTC).date()) == (2025, 12)


def test_the_file_clock_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "now.txt"
    write_now(path, datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    file_clock = FileClock(path)
    assert file_clock.now() == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    write_now(path, datetime(2026, 11, 23, 1, 31, tzinfo=UTC))
    assert file_clock.now() == datetime(2026, 11, 23, 1, 31, tzinfo=UTC)
    with pytest.raises(ConfigError):
        install_file_clock(path, mode="production")
    previous = clock.set_clock(clock.SystemClock())
    try:
        assert install_file_clock(path, mode="test") is not None
        assert clock.now() == datetime(2026, 11, 23, 1, 31, tzinfo=UTC)
    finally:
        clock.set_clock(previous)
