"""``guanjia calendar due`` and ``guanjia calendar load`` through Click's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from server.cli import main
from tests.conftest import table_counts
from tests.helpers.cli import point_cli_at


@pytest.fixture
def runner(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command on the test app's database, with the demo county 大姚县."""
    from server.extensions import db
    from server.services.counties import ensure_demo_county

    point_cli_at(app, tmp_path, monkeypatch)
    with app.app_context():
        ensure_demo_county()
        db.session.commit()
        db.session.remove()
    return CliRunner()


def _due(runner: CliRunner, *args: str) -> list[str]:
    result = runner.invoke(main, ["calendar", "due", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


@pytest.mark.parametrize(("start", "n", "due", "provisional"), [
    # 元旦 2027 is a statutory holiday before the 2027 notice is out: provisional.
    ("2026-12-31T09:00+08:00", "1", "2027-01-04T17:30:00+08:00", "yes"),
    ("2026-12-31T09:00+08:00", "5", "2027-01-08T17:30:00+08:00", "yes"),
    # 9/29, 9/30, (国庆 10/1–10/7), 10/8, 10/9 and Saturday 10/10, a 调休 working day.
    ("2026-09-28T09:00+08:00", "5", "2026-10-10T17:30:00+08:00", "no"),
])
def test_due_prints_the_deadline_and_whether_it_is_provisional(
        runner: CliRunner, start: str, n: str, due: str, provisional: str) -> None:
    out = _due(runner, start, n)
    assert out[0] == due
    assert out[1].startswith(f"provisional: {provisional}")


def test_a_county_notice_moves_that_county_only(runner: CliRunner, tmp_path: Path) -> None:
    notice = tmp_path / "notice.txt"
    notice.write_text("# 楚雄州火把节放假通知（示例）\n2026-08-06~2026-08-07 holiday 火把节\n",
                      encoding="utf-8")
    loaded = runner.invoke(main, ["calendar", "load", str(notice), "--county", "dayao"])
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 2 days (county dayao" in loaded.output
    # 大姚县 closes at 18:00 (its office hours); the national calendar at 17:30.
    assert _due(runner, "2026-08-05T09:00+08:00", "1", "--county", "dayao")[0] == \
        "2026-08-10T18:00:00+08:00"
    assert _due(runner, "2026-08-05T09:00+08:00", "1")[0] == "2026-08-06T17:30:00+08:00"


def test_calendar_days_count_weekends_and_move_off_a_holiday(runner: CliRunner) -> None:
    # Monday 11/2 + 5 days = Saturday 11/7, a day off: 民法典 Art. 203 moves it to Monday 11/9.
    assert _due(runner, "2026-11-02T09:00+08:00", "5", "--calendar-days")[0] == \
        "2026-11-09T17:30:00+08:00"
    assert _due(runner, "2026-11-02T09:00+08:00", "4", "--calendar-days")[0] == \
        "2026-11-06T17:30:00+08:00"


def test_bad_input_is_refused_and_changes_nothing(runner: CliRunner, app: Flask,
                                                  tmp_path: Path) -> None:
    before = table_counts(app)
    unknown = runner.invoke(main, ["calendar", "due", "2026-08-05T09:00+08:00", "1",
                                   "--county", "nowhere"])
    assert unknown.exit_code == 2 and "unknown county 'nowhere'" in unknown.output
    naive = runner.invoke(main, ["calendar", "due", "2026-08-05T09:00", "1"])
    assert naive.exit_code == 2 and "offset" in naive.output
    overlapping = tmp_path / "overlap.txt"
    overlapping.write_text("2026-08-06~2026-08-08 holiday 火把节\n2026-08-08 holiday 火把节\n",
                           encoding="utf-8")
    refused = runner.invoke(main, ["calendar", "load", str(overlapping), "--county", "dayao"])
    assert refused.exit_code == 1
    assert f"{overlapping}:2:" in refused.output and "listed twice" in refused.output
    malformed = tmp_path / "bad.txt"
    malformed.write_text("2026-08-32 holiday 火把节\n", encoding="utf-8")
    bad = runner.invoke(main, ["calendar", "load", str(malformed)])
    assert bad.exit_code == 1 and f"{malformed}:1:" in bad.output
    nowhere = runner.invoke(main, ["calendar", "load", str(overlapping), "--county", "nowhere"])
    assert nowhere.exit_code == 1 and "unknown county" in nowhere.output
    assert table_counts(app) == before
