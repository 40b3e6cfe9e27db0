"""Doing an enterprise's step on its behalf (代企业办理), only with its confirmation.

帮办代办 means doing it for the enterprise (seed 004 §二, §五(四) 委托): the window — or the
bureau (招商部门) — may complete any open enterprise step of a case (plan agreement,
completion and termination signatures, evaluation) when the enterprise confirms, by either

- a signed paper (签字确认书) uploaded with the step, kept as an attachment of the case, or
- a one-time code the enterprise generated in its portal and read out to the window:
  six digits, valid ``CODE_MINUTES`` minutes, single use, ``MAX_ATTEMPTS`` wrong tries, kept
  only as a keyed hash.

Every proxy action is audited ``enterprise_step_proxied`` (who acted, for which enterprise,
which confirmation) beside the usual ``task_completed``, in the same transaction, and listed
in the enterprise's portal (代办记录). Without a confirmation nothing changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from server.engine import clock
from server.engine.errors import ScriptError, TaskNotReadyError
from server.extensions import db
from server.models import (
    Attachment,
    AuditEvent,
    Case,
    Enterprise,
    ProxyCode,
    User,
    WorkItem,
)
from server.services import access, archive, attachments, plan, teams, tenancy
from server.services.audit import record_event
from server.services.case_state import record_step_events
from server.services.cases import get_case
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.staging import release_ready_items
from server.services.store import Completion, case_store, with_retries
from server.services.tasks import form_for

#: Staff groups that may act for an enterprise (专窗, and the bureau that brought the project).
PROXY_GROUPS = ("window", "bureau")
CODE_MINUTES = 15
MAX_ATTEMPTS = 5
CODE_DIGITS = 6
EVENT = "enterprise_step_proxied"
CONFIRMATION_KINDS = {"paper": "签字确认书（纸质）", "code": "企业一次性确认码"}


@dataclass(frozen=True)
class Confirmation:
    """How the enterprise confirmed: ``kind`` "paper" with ``upload``, or "code" with ``code``."""

    kind: str
    code: str = ""
    upload: attachments.Upload | None = None


def proxy_role(user: User, case: Case) -> str | None:
    """The group through which ``user`` may act for the enterprise of ``case``, or None."""
    return next((g for g in PROXY_GROUPS
                 if g in user.group_codes and access.can_see_case(user, case)), None)


def open_enterprise_steps(case: Case) -> list[WorkItem]:
    """The case's open steps that are the enterprise's own."""
    rows = db.session.execute(
        select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.state == "ready")
        .order_by(WorkItem.created_at)).scalars()
    return [w for w in rows if access.ENTERPRISE in w.group_codes]


# ---- the enterprise's one-time code ------------------------------------------------------
def _hash(case_id: str, code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"proxy:{case_id}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_code(user: User, case_id: str) -> tuple[str, ProxyCode]:
    """A new one-time code for the window to act for the user's enterprise on ``case_id``;
    earlier unused codes of the case lapse. Commits; returns the code (shown once) and its row.

    Raises ``NotFoundError``, ``PermissionDeniedError`` (not the case's own enterprise),
    ``ConflictError`` (the case has ended).
    """
    case = get_case(user, case_id)
    if not (access.ENTERPRISE in user.group_codes and user.enterprise_id is not None
            and user.enterprise_id == case.enterprise_id):
        raise PermissionDeniedError("only the case's own enterprise issues its confirmation code")
    if case.status != "running":
        raise ConflictError(f"case {case.reference} has ended")
    now = clock.now()
    for old in _live_codes(case.id, now):
        old.expires_at = now
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    row = ProxyCode(id=str(uuid.uuid4()), case_id=case.id, code_hash=_hash(case.id, code),
                    issued_by=user.username, issued_at=now,
                    expires_at=now + timedelta(minutes=CODE_MINUTES), attempts=0)
    db.session.add(row)
    record_event(case, "proxy_code_issued", actor=user.username, role=access.ENTERPRISE,
                 payload={"code_id": row.id, "expires_at": row.expires_at.isoformat()}, at=now)
    db.session.commit()
    return code, row


def _live_codes(case_id: str, now: Any) -> list[ProxyCode]:
    return [c for c in db.session.execute(
        select(ProxyCode).where(ProxyCode.case_id == case_id, ProxyCode.used_at.is_(None))
        .order_by(ProxyCode.issued_at)).scalars()
        if c.expires_at > now and c.attempts < MAX_ATTEMPTS]


def _code_error(message: str) -> ValidationFailedError:
    return ValidationFailedError(message, {"confirmation_code": [message]})


def _count_wrong_try(code_id: str) -> None:
    """A wrong code counts against the code even though the step is refused (own commit)."""
    db.session.rollback()
    row = db.session.get(ProxyCode, code_id)
    if row is not None:
        row.attempts = (row.attempts or 0) + 1
        db.session.commit()


# ---- acting for the enterprise -----------------------------------------------------------
def complete_on_behalf(user: User, task_id: str, data: dict[str, Any],
                       confirmation: Confirmation) -> WorkItem:
    """Complete an open enterprise step for the enterprise, with its confirmation; all or
    nothing (a wrong code is counted, nothing else is kept).

    Raises ``NotFoundError``, ``PermissionDeniedError`` (not the window or bureau, or a case
    the user may not see), ``ConflictError`` (not an open enterprise step),
    ``ValidationFailedError`` (the form; no, expired, used or wrong confirmation).
    """
    item = db.session.get(WorkItem, task_id)
    if item is None or not tenancy.in_scope(user, item.case):
        raise NotFoundError(f"task {task_id} does not exist")
    role = proxy_role(user, item.case)
    if role is None:
        raise PermissionDeniedError("only the window or the bureau acts for an enterprise")
    if item.state != "ready" or access.ENTERPRISE not in item.group_codes:
        raise ConflictError(f"“{item.name}” is not an open step of the enterprise")
    form = teams_form(item)
    cleaned = form.validate(data) if form is not None else dict(data)
    kind = confirmation.kind
    if kind not in CONFIRMATION_KINDS:
        raise ValidationFailedError(
            "the enterprise has not confirmed", {"confirmation_kind": [
                "代企业办理须经企业确认：请上传企业签字的确认书，或输入企业在门户生成的确认码"]})
    upload_bytes: bytes = b""
    upload_name = ""
    if kind == "paper":
        sent = confirmation.upload
        if sent is None or not sent.filename:
            raise ValidationFailedError("no signed paper", {"confirmation_file": [
                "请上传企业签字（盖章）的代办确认书扫描件"]})
        upload_name = attachments._check_type(sent.filename, sent.content_type)
        limit = attachments.max_bytes()
        upload_bytes = sent.stream.read(limit + 1)
        if not upload_bytes:
            raise ValidationFailedError("the file is empty", {"confirmation_file": ["文件为空"]})
        if len(upload_bytes) > limit:
            raise ValidationFailedError("the file is too large", {"confirmation_file": [
                f"文件超过大小上限 {limit // (1024 * 1024)} MB"]})
        code_row_id = None
    else:
        code = (confirmation.code or "").strip()
        if not code.isdigit() or len(code) != CODE_DIGITS:
            raise _code_error(f"确认码为 {CODE_DIGITS} 位数字，请向企业核对")
        now = clock.now()
        live = _live_codes(item.case_id, now)
        if not live:
            raise _code_error("企业没有有效的确认码（已过期、已使用或错误次数过多），"
                              "请企业在门户重新生成")
        row = live[-1]
        if not hmac.compare_digest(row.code_hash, _hash(item.case_id, code)):
            _count_wrong_try(row.id)
            left = MAX_ATTEMPTS - (row.attempts or 0)
            raise _code_error(f"确认码不正确（还可尝试 {max(left, 0)} 次）")
        code_row_id = row.id
    stored = str(uuid.uuid4()) if kind == "paper" else ""
    path = attachments._folder(item.case_id) / stored if kind == "paper" else None
    if path is not None:
        path.write_bytes(upload_bytes)
    try:
        return with_retries(  # type: ignore[no-any-return]
            _complete_locked, user, role, item.case_id, task_id, cleaned, kind, code_row_id,
            (upload_name, confirmation.upload.content_type if confirmation.upload else "",
             upload_bytes, stored))
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise


def teams_form(item: WorkItem) -> Any:

    return form_for(item)


def _complete_locked(user: User, role: str, case_id: str, task_id: str,
                     cleaned: dict[str, Any], kind: str, code_row_id: str | None,
                     paper: tuple[str, str, bytes, str]) -> WorkItem:
    store = case_store()
    with store.locked(case_id, item_id=task_id) as live:
        item = live.item
        assert item is not None
        case = live.case
        if item.state != "ready" or access.ENTERPRISE not in item.group_codes:
            raise ConflictError(f"“{item.name}” is not an open step of the enterprise")
        try:
            task = store.engine.find_ready_human_task(live.runtime, task_id)
        except TaskNotReadyError as exc:
            raise ConflictError(str(exc)) from exc
        now = clock.now()
        confirmation: dict[str, Any] = {"kind": kind, "label": CONFIRMATION_KINDS[kind]}
        if kind == "code":
            row = db.session.get(ProxyCode, code_row_id)
            if row is None or row.used_at is not None or row.expires_at <= now:
                raise _code_error("确认码已失效，请企业在门户重新生成")
            row.used_at, row.used_by, row.used_for_task = now, user.username, task_id
            confirmation["code_id"] = row.id
            confirmation["issued_by"] = row.issued_by
        else:
            name, content_type, data, stored = paper
            attachment = Attachment(
                id=str(uuid.uuid4()), case_id=case_id, work_item_id=task_id, filename=name,
                content_type=content_type.split(";")[0] or "application/octet-stream",
                size=len(data), sha256=hashlib.sha256(data).hexdigest(), stored_name=stored,
                uploaded_by=user.username, uploaded_at=now)
            db.session.add(attachment)
            record_event(case, "attachment_added", actor=user.username, role=role,
                         task_id=task_id, element_id=item.element_id, element_name=item.name,
                         payload={"filename": name, "size": len(data),
                                  "sha256": attachment.sha256}, at=now)
            confirmation.update(attachment_id=attachment.id, filename=name,
                                sha256=attachment.sha256)
        cleaned = plan.prepare_submission(case, item.form_key, task.data, cleaned,
                                          actor=user.username, role=role)
        cleaned = teams.prepare_submission(case, item.form_key, task.data, cleaned,
                                           actor=user.username)
        cleaned = archive.prepare_submission(case, item.form_key, cleaned)
        old = json.loads(json.dumps({k: task.data.get(k) for k in cleaned}, default=str))
        try:
            result = store.engine.complete(live.runtime, task_id, cleaned)
        except ScriptError as exc:
            raise ValidationFailedError(f"the process could not continue: {exc}",
                                        {"_process": [str(exc)]}) from exc
        company = (db.session.get(Enterprise, case.enterprise_id)
                   if case.enterprise_id is not None else None)
        enterprise = company.name if company is not None else ""
        record_event(case, EVENT, actor=user.username, role=role, task_id=task_id,
                     element_id=item.element_id, element_name=item.name,
                     payload={"enterprise_id": case.enterprise_id, "enterprise": enterprise,
                              "confirmation": confirmation}, at=now)
        record_event(case, "task_completed", actor=user.username, role=role,
                     task_id=task_id, element_id=item.element_id, element_name=item.name,
                     payload={"old": old, "new": json.loads(json.dumps(cleaned, default=str)),
                              "on_behalf_of": enterprise or case.enterprise_id},
                     at=now)
        store.save(case, result, context=json.loads(case.summary or "{}"),
                   completion=Completion(task_id, user.username, now))
        record_step_events(case, result, actor=user.username)
        release_ready_items(case, live.runtime, result, actor=user.username)
    return item


# ---- what the enterprise and the case page see -------------------------------------------
def proxy_records(case: Case) -> list[AuditEvent]:
    """The case's proxy actions (代办记录), oldest first."""
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.type == EVENT)
        .order_by(AuditEvent.case_seq)).scalars())


def code_status(case: Case) -> ProxyCode | None:
    """The enterprise's live code of the case (to say until when it holds), or None."""
    live = _live_codes(case.id, clock.now())
    return live[-1] if live else None


def proxy_view(user: User, case: Case) -> dict[str, Any]:
    """The case page's 代企业办理 section: open enterprise steps the user may do for the
    enterprise (only for the window and the bureau), and the proxy actions so far."""
    may = proxy_role(user, case) is not None and case.status == "running"
    return {"steps": open_enterprise_steps(case) if may else [],
            "records": proxy_records(case), "kinds": CONFIRMATION_KINDS}
