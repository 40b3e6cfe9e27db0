"""Attaching files to a case at a task, and reading them back.

Limits (size, file type) are checked before anything is stored; bytes go to
``<instance>/attachments/<case id>/<uuid>`` and the row records name, type, size and SHA-256,
with an ``attachment_added`` audit event written in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from server.engine import clock
from server.extensions import db
from server.models import Attachment, Case, User, WorkItem
from server.services import access, handups, tenancy
from server.services.audit import record_event
from server.services.cases import get_case
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.store import case_store

#: Extension → the content types a browser may announce for it (government documents,
#: scans, office files, OFD — the Chinese fixed-layout format — and archives of them).
ALLOWED_TYPES: dict[str, set[str]] = {
    "pdf": {"application/pdf"},
    "ofd": {"application/ofd", "application/octet-stream", "application/zip"},
    "jpg": {"image/jpeg"}, "jpeg": {"image/jpeg"}, "png": {"image/png"},
    "doc": {"application/msword", "application/octet-stream"},
    "docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "application/octet-stream", "application/zip"},
    "xls": {"application/vnd.ms-excel", "application/octet-stream"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "application/octet-stream", "application/zip"},
    "zip": {"application/zip", "application/x-zip-compressed", "application/octet-stream"},
    "txt": {"text/plain"},
}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    stream: IO[bytes]


def max_bytes() -> int:
    return int(current_app.config["GUANJIA"].max_upload_bytes)


def _folder(case_id: str) -> Path:
    folder = Path(current_app.instance_path) / "attachments" / case_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_type(filename: str, content_type: str) -> str:
    name = Path(filename).name.strip()
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name or ext not in ALLOWED_TYPES:
        raise ValidationFailedError(
            f"file type .{ext or '?'} is not accepted",
            {"file": [f"不支持的文件类型 .{ext or '?'}"
                      f"（可上传：{', '.join(sorted(ALLOWED_TYPES))}）"]})
    base = content_type.split(";")[0].strip().lower()
    if base and base not in ALLOWED_TYPES[ext]:
        raise ValidationFailedError(
            f"{name}: content type {base} does not fit .{ext}",
            {"file": [f"文件内容类型 {base} 与扩展名 .{ext} 不符"]})
    return name


def add_attachment(user: User, task_id: str, upload: Upload) -> Attachment:
    """Attach a file to the task's case; raises ``NotFoundError``, ``PermissionDeniedError``,
    ``ValidationFailedError`` (empty, too large, wrong type). Nothing is kept on refusal."""
    item = db.session.get(WorkItem, task_id)
    if item is None or not tenancy.in_scope(user, item.case):
        raise NotFoundError(f"task {task_id} does not exist")
    role = access.acting_role(user, item)
    if role is None:
        raise PermissionDeniedError("this task is not yours")
    return keep_upload(user, item, role, upload)


def add_handup_attachment(user: User, handup_id: int, upload: Upload) -> Attachment:
    """The prefecture department attaches its documents (批复、不予许可决定书 …) to a handed-up
    item: kept on the county case at the county's 办理 task. Raises as
    :func:`server.services.handups.accept` and ``ValidationFailedError``."""
    handup = handups.require_department(user, handup_id)
    if not handup.open:
        raise ConflictError("this hand-up is decided; its record is closed")
    item = db.session.get(WorkItem, handup.county_task_id)
    if item is None:
        raise NotFoundError(f"task {handup.county_task_id} does not exist")
    return keep_upload(user, item, handup.prefecture_group, upload,
                       {"handup_id": handup.id})


def keep_upload(user: User, item: WorkItem, role: str, upload: Upload,
                facts: dict[str, Any] | None = None) -> Attachment:
    """Store ``upload`` on ``item``'s case for ``user`` acting as ``role`` (the caller checked
    both), audited ``attachment_added`` with ``facts``; raises ``ValidationFailedError``."""
    name = _check_type(upload.filename, upload.content_type)
    limit = max_bytes()
    data = upload.stream.read(limit + 1)
    if not data:
        raise ValidationFailedError("the file is empty", {"file": ["文件为空"]})
    if len(data) > limit:
        raise ValidationFailedError(
            "the file is too large",
            {"file": [f"文件超过大小上限 {limit // (1024 * 1024)} MB"]})
    stored = str(uuid.uuid4())
    path = _folder(item.case_id) / stored
    path.write_bytes(data)
    try:
        with case_store().locked(item.case_id) as live:
            attachment = Attachment(
                id=str(uuid.uuid4()), case_id=item.case_id, work_item_id=item.id,
                filename=name, content_type=upload.content_type.split(";")[0] or
                "application/octet-stream", size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), stored_name=stored,
                uploaded_by=user.username, uploaded_at=clock.now())
            db.session.add(attachment)
            record_event(live.case, "attachment_added", actor=user.username, role=role,
                         task_id=item.id, element_id=item.element_id,
                         element_name=item.name,
                         payload={"filename": name, "size": len(data),
                                  "sha256": attachment.sha256, **(facts or {})})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


def case_attachments(case: Case) -> list[Attachment]:
    return list(db.session.execute(
        select(Attachment).where(Attachment.case_id == case.id)
        .order_by(Attachment.uploaded_at)).scalars())


def open_attachment(user: User, attachment_id: str) -> tuple[Attachment, Path]:
    """An attachment of a case the user may read, and its file; raises as ``get_case``."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFoundError(f"attachment {attachment_id} does not exist")
    get_case(user, attachment.case_id)
    path = _folder(attachment.case_id) / attachment.stored_name
    if not path.is_file():
        raise NotFoundError(f"the file of attachment {attachment_id} is missing")
    return attachment, path
