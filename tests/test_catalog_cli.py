"""``guanjia catalog-check``: a county checks its catalog file before pointing the app at it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from server.cli import main


def test_catalog_check_lists_errors_by_line_and_fails(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["catalog-check"])
    assert ok.exit_code == 0 and "items valid" in ok.output
    bad = tmp_path / "catalog.csv"
    bad.write_text("code,name,department,stage,materials,statutory_days,promised_days,"
                   "prerequisites\n"
                   "a_x,甲,dept_fgj,其他,材料,,1,b_x\n"
                   "b_x,乙,dept_fgj,其他,材料,,1,a_x\n", encoding="utf-8")
    result = runner.invoke(main, ["catalog-check", str(bad)])
    assert result.exit_code == 1
    assert "line 2: prerequisite cycle: a_x → b_x → a_x" in result.output
