"""Audit views: each checks the auditor role, calls one service, renders or sends a file."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, render_template
from flask_login import login_required

from server.models import Case
from server.schemas.pages import OutputFormat
from server.schemas.views import AuditCaseListQuery, AuditCasesQuery
from server.services import case_pages, exports, ledger, replay, tenancy
from server.services.errors import NotFoundError, ValidationFailedError
from server.web import params
from server.web.audit import bp
from server.web.session import me

PER_PAGE = 50


def _auditor() -> Any:
    user = me()
    replay.require_auditor(user)
    return user


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _case_ids() -> list[str] | None:
    ids = [i for i in params.query(AuditCasesQuery)["case"] if i]
    return ids or None


@bp.get("/")
@login_required
def index() -> Any:
    """Cases to audit, newest first; 403 for anyone but auditors and administrators."""
    user = _auditor()
    wanted = params.query(AuditCaseListQuery)
    page, q = wanted["page"], wanted["q"]
    rows = replay.cases_to_audit(user, q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("audit/index.html", cases=rows, page=page, q=q,
                           checkpoint=ledger.latest_checkpoint("log"))


@bp.get("/cases/<case_id>")
@login_required
def case_replay(case_id: str) -> Any:
    """Step through a case event by event; the opening is audited. 403/404 as the service."""
    case = replay.open_case_for_audit(_auditor(), case_id, purpose="replay")
    steps = replay.replay_case(case)
    return render_template("audit/replay.html", case=case, replay=steps,
                           replay_json=json.dumps(steps.as_dict(), ensure_ascii=False,
                                                  default=str).replace("</", "<\\/"))


@bp.get("/cases/<case_id>/reexecution")
@login_required
def case_reexecution(case_id: str) -> Any:
    """Run the recorded inputs through the engine again and show whether the path matches."""
    case = replay.open_case_for_audit(_auditor(), case_id, purpose="reexecution")
    result = replay.reexecute_case(case)
    if params.query(OutputFormat)["format"] == "json":
        return result.as_dict()
    return render_template("audit/reexecution.html", case=case, result=result)


@bp.get("/verify")
@login_required
def verify() -> Any:
    """Verify the whole log, or one case (``?case=ID``), against the signed checkpoints."""
    _auditor()
    wanted = params.query(AuditCasesQuery)
    case_id = wanted["case"][0] if wanted["case"] and wanted["case"][0] else None
    findings = ledger.verify(case_id)
    if wanted["format"] == "json":
        return {"case_id": case_id, "ok": not findings,
                "findings": [{"kind": f.kind, "seq": f.seq, "case_id": f.case_id,
                              "case_seq": f.case_seq, "detail": f.detail,
                              "candidates": list(f.candidates)} for f in findings]}
    return render_template("audit/verify.html", case_id=case_id, findings=findings,
                           checkpoints=ledger.stored_checkpoints(case_id or "log")[-5:])


@bp.get("/events/<int:seq>/proof.json")
@login_required
def event_proof(seq: int) -> Any:
    """Inclusion proof of one event in the signed log; 409 before a checkpoint covers it."""
    user = _auditor()
    return _download(json.dumps(ledger.event_proof(seq, user), ensure_ascii=False, indent=1)
                     .encode("utf-8"), f"event-{seq}-proof.json", "application/json")


@bp.get("/cases/<case_id>/casefile.zip")
@login_required
def casefile(case_id: str) -> Any:
    """The case archive (一事一档); 409 when the case's history does not verify."""
    case = replay.open_case_for_audit(_auditor(), case_id, purpose="casefile")
    _, data = exports.casefile(case.id, records=_printable_records(case))
    return _download(data, f"{case.reference}.zip", "application/zip")


def _printable_records(case: Case) -> dict[str, bytes]:
    """The printable records of the case (HTML) when the records pages are installed."""
    if "records" not in current_app.blueprints:
        return {}
    records: dict[str, bytes] = {}
    view = current_app.view_functions.get("records.record")
    if view is None:
        return records
    for key in case_pages.completed_form_keys(case):
        try:
            html = view(case_id=case.id, form_key=key)
        except NotFoundError:
            continue
        if isinstance(html, str):
            records[f"{key}.html"] = html.encode("utf-8")
    return records


@bp.get("/export.<fmt>")
@login_required
def export(fmt: str) -> Any:
    """XES, OCEL 2.0 JSON or CSV of the chosen cases (``?case=ID``, repeatable) or of all."""
    scope = tenancy.county_scope(_auditor())
    ids = _case_ids()
    if fmt == "xes":
        return _download(exports.to_xes(ids, scope=scope), "guanjia.xes", "application/xml")
    if fmt == "ocel":
        return _download(exports.to_ocel(ids, scope=scope), "guanjia.ocel.json",
                         "application/json")
    if fmt == "csv":
        return _download(exports.to_csv(ids, scope=scope), "guanjia-events.csv",
                         "text/csv; charset=utf-8")
    raise ValidationFailedError(f"unknown export format {fmt!r}", {"fmt": ["xes, ocel or csv"]})
