"""The printed 附件2 (申请受理表) names the bureau's 经办人 who reviewed the application and the
主要领导 (bureau_head) who signed the acceptance (seed 004 §五(二); issue 13)."""

from __future__ import annotations

import re

from flask import Flask

from tests.scenarios.conftest import Walker
from tests.web.helpers import Web


def _signoff(html: str) -> list[str]:
    table = html.split('<table class="signoff">')[1].split("</table>")[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in table.split("<tr>")[1:]]


def test_the_printed_acceptance_names_the_handler_and_the_bureau_head(
        concierge_app: Flask, walker: Walker) -> None:
    walker.start()
    walker.accept()
    window = Web(concierge_app)
    window.login("zhuanchuang")
    rows = _signoff(window.text(f"/cases/{walker.case_id}/records/acceptance_sign"))
    assert any(r.startswith("经办人（县投资促进局审核） 招商局") for r in rows), rows
    assert any(r.startswith("主要领导（签字确认受理） 局长") for r in rows), rows
    assert any(r.startswith("申请单位（签字/盖章） 日期") for r in rows), rows
