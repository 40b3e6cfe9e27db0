"""Exports from the database, the case archive, the CLI, and the auditor's read-only role."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from lxml import etree

from server.cli import main
from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import AuditEvent
from server.services import exports, ledger
from tests.audit.walk import items, sign_in, walk_case
from tests.conftest import Api, table_counts
from tests.helpers.cli import point_cli_at
from tests.helpers.tamper import tampering

# Rows are changed behind the app's back on a connection of its own (as an intruder
# would): the test's rows must be committed for it to see them.
pytestmark = pytest.mark.real_commits


ROOT = Path(__file__).resolve().parents[2]
# Vendored: tests read nothing outside the repository.
XSD = Path(__file__).resolve().parents[1] / "fixtures" / "standards" / "xes-ieee-1849-2016.xsd"


def start_cases(api: Api, n: int) -> list[str]:
    ids = []
    for k in range(n):
        response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
            "project_name": f"项目{k}", "investment_wan": 1000 + k, "items": items(1 + k % 3)}})
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return ids


def test_xes_of_100_cases_validates_and_ocel_has_the_object_types(api: Api) -> None:
    ids = start_cases(api, 100)
    with api.app.app_context():
        xes = exports.to_xes()
        ocel = json.loads(exports.to_ocel())
        csv_text = exports.to_csv(ids[:2]).decode("utf-8-sig")
        db.session.remove()
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(xes)
    schema.assertValid(doc)
    assert len(doc.findall("trace")) == 100
    assert {o["name"] for o in ocel["objectTypes"]} == {"project", "item", "department",
                                                        "material"}
    kinds = {o["type"] for o in ocel["objects"]}
    assert {"project", "item", "department"} <= kinds
    assert sum(o["type"] == "project" for o in ocel["objects"]) == 100
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("seq,case_id,case_seq,type")
    assert {line.split(",")[1] for line in lines[1:]} == set(ids[:2])


def test_the_case_file_verifies_offline_and_a_tampered_case_gets_none(
        api: Api, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    walk = walk_case(api, frozen_clock, 2)
    with api.app.app_context():
        case, data = exports.casefile(walk.case_id, records={"close.html": "<p>办结</p>".encode()})
        key = ledger.checkpoint_key()
        db.session.remove()
    target = tmp_path / "case.zip"
    target.write_bytes(data)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "files/records/close.html" in names
    assert any(n.startswith("files/forms/") and n.endswith("-review.json") for n in names)
    run = subprocess.run([sys.executable, str(ROOT / "tools/verify_casefile.py"), str(target),
                          "--key", key], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("OK")

    with tampering(api.app) as conn:
        conn.execute(sa.text("UPDATE audit_events SET actor = 'x' WHERE case_id = :c AND "
                             "case_seq = 2"), {"c": walk.case_id})
    from server.services.errors import ConflictError

    with api.app.app_context(), pytest.raises(ConflictError):
        exports.casefile(walk.case_id)


def test_the_cli_signs_verifies_proves_and_exports(
        api: Api, frozen_clock: FrozenClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    walk = walk_case(api, frozen_clock, 1)
    settings = api.app.config["GUANJIA"]
    for name, value in {"GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": settings.database_url,
                        "GUANJIA_INSTANCE_DIR": str(tmp_path),
                        "GUANJIA_SECRET_KEY": settings.secret_key,
                        "GUANJIA_CHECKPOINT_KEY": settings.checkpoint_key,
                        "GUANJIA_PROCESSES_DIR": str(settings.processes_dir),
                        "GUANJIA_FORMS_DIR": str(settings.forms_dir)}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    signed = runner.invoke(main, ["audit", "checkpoint"])
    assert signed.exit_code == 0 and "signed log" in signed.output, signed.output
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    ok = runner.invoke(main, ["audit", "verify", "--case", walk.case_id])
    assert ok.exit_code == 0 and ok.output.startswith("OK"), ok.output

    proof = tmp_path / "proof.json"
    assert runner.invoke(main, ["audit", "proof", "--event", "3", "-o", str(proof)]).exit_code == 0
    assert runner.invoke(main, ["audit", "check-proof", str(proof)]).exit_code == 0
    doc = json.loads(proof.read_text(encoding="utf-8"))
    doc["event"]["actor"] = "someone else"
    proof.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    bad = runner.invoke(main, ["audit", "check-proof", str(proof)])
    assert bad.exit_code == 1 and "does not match" in bad.output
    wrong_key = runner.invoke(main, ["audit", "check-proof", str(proof), "--key", "other"])
    assert "not signed by the given key" in wrong_key.output

    out = tmp_path / "x.xes"
    assert runner.invoke(main, ["audit", "export", "--format", "xes", "--case", walk.case_id,
                                "-o", str(out)]).exit_code == 0
    assert etree.parse(str(out)).getroot().tag == "log"
    casefile = tmp_path / "c.zip"
    assert runner.invoke(main, ["audit", "casefile", "--case", walk.case_id,
                                "-o", str(casefile)]).exit_code == 0

    with tampering(api.app) as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE case_id = :c AND case_seq = 3"),
                     {"c": walk.case_id})
    failed = runner.invoke(main, ["audit", "verify", "--case", walk.case_id])
    assert failed.exit_code == 1 and "removed" in failed.output


def test_an_auditor_reads_everything_and_changes_nothing(
        api: Api, frozen_clock: FrozenClock) -> None:
    walk = walk_case(api, frozen_clock, 2, finish=False)
    review_done = [t for t in api.tasks("fgj") if t["element_id"] == "take_sheet"]
    task = review_done[0]
    api.token("shenji")  # signing in issues a token; count what happens after
    before = table_counts(api.app)
    refused = api.post(f"/tasks/{task['id']}/complete", "shenji",
                       json={"data": {"receiver": "x"}})
    assert refused.status_code == 403
    deploy = api.post("/deployments", "shenji", json={"files": {}, "comment": ""})
    assert deploy.status_code == 403
    assert table_counts(api.app) == before
    # Reading is allowed: the case with its history.
    assert api.get(f"/cases/{walk.case_id}", "shenji").status_code == 200

    client = api.app.test_client()
    sign_in(client, "shenji")
    page = client.get(f"/audit/cases/{walk.case_id}")
    assert page.status_code == 200 and "replay-json" in page.get_data(as_text=True)
    # Opening the case is itself audited, and is the only thing the visit changed.
    after = table_counts(api.app)
    assert after["audit_events"] == before["audit_events"] + 1
    assert after["work_item_states"] == before["work_item_states"]
    shown = api.get(f"/cases/{walk.case_id}", "zhaoshang").json
    assert shown["history"][-1]["type"] == "case_opened_by_auditor"
    assert shown["history"][-1]["actor"] == "shenji"
    for path in (f"/audit/cases/{walk.case_id}/reexecution", f"/audit/verify?case={walk.case_id}",
                 "/audit/", "/audit/export.csv", f"/audit/cases/{walk.case_id}/casefile.zip"):
        assert client.get(path).status_code == 200, path
    # Nothing on the audit pages accepts a change.
    assert client.post(f"/audit/cases/{walk.case_id}").status_code in (400, 405)

    staff = api.app.test_client()
    sign_in(staff, "zhaoshang")
    assert staff.get(f"/audit/cases/{walk.case_id}").status_code == 403
    assert staff.get("/audit/export.xes").status_code == 403


PHONE, ID_NUMBER = "13812345678", "110101199003074518"
ITEM_TASKS = {"take_task_sheet", "review_item_materials", "handle_item"}


def test_exports_of_30_cases_name_the_item_and_mask_personal_data_unless_asked(
        walker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = []
    for k in range(30):
        ids.append(walker.start(project_name=f"项目{k}", contact_phone=PHONE,
                                contact_name=f"王小明{k}",
                                project_summary=f"法人身份证 {ID_NUMBER}",
                                item_codes=["project_filing", "land_pre_review"][:1 + k % 2]))
    # Two cases into the departments' hands: sheets taken, materials reviewed.
    for case_id in ids[:2]:
        walker.case_id = case_id
        walker.accept()
        walker.hand_over()
        walker.do("fgj", "take_task_sheet")
        walker.do("fgj", "review_item_materials")
    app = walker.app
    with app.app_context():
        cases = exports.export_cases()
        xes_bytes, ocel_bytes = exports.to_xes(), exports.to_ocel()
        csv_text = exports.to_csv().decode("utf-8-sig")
        db.session.remove()
    assert len(cases) == 30
    seen = 0
    for case in cases:
        codes = {it["code"]: it for it in case["attributes"]["items"]}
        for e in case["events"]:
            if e["type"].startswith("task_") and e["element_id"] in ITEM_TASKS:
                seen += 1
                item = codes[e["item_id"]]  # every department task names its item
                assert e["item_name"] == item["name"]
                assert e["department"] == item["department"]
    assert seen >= 2 * 4
    for text in (xes_bytes.decode("utf-8"), ocel_bytes.decode("utf-8"), csv_text):
        assert PHONE not in text and ID_NUMBER not in text and "小明" not in text
        assert "138****5678" in text
    doc = etree.fromstring(xes_bytes)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(doc)
    assert doc.findall(".//event/string[@key='item_id']")
    ocel_doc = json.loads(ocel_bytes)
    sheet = next(e for e in ocel_doc["events"] if e["type"] == "task_created"
                 and any(a["name"] == "element_id" and a["value"] == "take_task_sheet"
                         for a in e["attributes"]))
    targets = {r["objectId"].split(":")[0] for r in sheet["relationships"]}
    assert {"project", "item", "department"} <= targets
    assert csv_text.splitlines()[0].endswith("item_id,item_name,department")

    # Unmasked only for an auditor who says why, and that is written to the log.
    point_cli_at(app, tmp_path, monkeypatch)
    runner = CliRunner()
    out = tmp_path / "full.csv"
    refused = runner.invoke(main, ["audit", "export", "--format", "csv", "-o", str(out),
                                   "--unmasked", "--as", "zhaoshang", "--purpose", "核查"])
    assert refused.exit_code == 2 and not out.exists(), refused.output
    no_purpose = runner.invoke(main, ["audit", "export", "--format", "csv", "-o", str(out),
                                      "--unmasked", "--as", "shenji"])
    assert no_purpose.exit_code == 2 and not out.exists(), no_purpose.output
    granted = runner.invoke(main, ["audit", "export", "--format", "csv", "-o", str(out),
                                   "--case", ids[0], "--unmasked", "--as", "shenji",
                                   "--purpose", "审计核查联系人"])
    assert granted.exit_code == 0, granted.output
    assert PHONE in out.read_text(encoding="utf-8-sig")
    with app.app_context():
        logged = db.session.execute(sa.select(AuditEvent).where(
            AuditEvent.type == "personal_data_exported")).scalars().all()
        assert [(e.actor, e.payload["purpose"], e.payload["cases"]) for e in logged] == [
            ("shenji", "审计核查联系人", [ids[0]])]
        assert ledger.verify() == []
        db.session.remove()
