"""What a person keeps and does in bulk on the task list: saved filters and bulk claim.

A saved filter is the list's query string under a name, one user's own. Bulk claim calls
``tasks.claim_task`` once per task (each claim is its own audited step under its case's lock)
and reports the ones refused with the reason, so one refusal never undoes the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select

from server.extensions import db
from server.models import SavedFilter, User, WorkItem
from server.services import audit, tasks, tenancy
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    ValidationFailedError,
)

#: The task list's query keys a filter may keep (page and per_page are not kept).
FILTER_KEYS = ("scope", "q", "department", "stage", "light", "due_before", "sort")
MAX_FILTERS = 30
MAX_BULK = 100


def filters_of(user: User) -> list[SavedFilter]:
    return list(db.session.execute(
        select(SavedFilter).where(SavedFilter.username == user.username)
        .order_by(SavedFilter.name, SavedFilter.id)).scalars())


def clean_query(raw: str) -> str:
    """Keep only the list's own filter keys, in a stable order."""
    pairs = dict(parse_qsl(raw.lstrip("?"), keep_blank_values=False))
    return urlencode([(k, pairs[k][:100]) for k in FILTER_KEYS if pairs.get(k)])


def save_filter(user: User, name: str, query: str) -> SavedFilter:
    """Save (or replace, by name) one of the user's filters; commits with its audit event.

    Raises ``ValidationFailedError`` for an empty or too long name, an empty filter or too
    many filters."""
    name = name.strip()
    errors = {}
    if not name or len(name) > 60:
        errors["name"] = ["请填写名称（不超过60字） / a name of 1 to 60 characters"]
    cleaned = clean_query(query)
    if not cleaned:
        errors["query"] = ["请先设置筛选条件 / set a filter first"]
    if errors:
        raise ValidationFailedError("the filter cannot be saved", errors)
    existing = db.session.execute(select(SavedFilter).where(
        SavedFilter.username == user.username, SavedFilter.name == name)).scalar_one_or_none()
    if existing is None:
        count = db.session.execute(select(func.count()).select_from(SavedFilter).where(
            SavedFilter.username == user.username)).scalar_one()
        if count >= MAX_FILTERS:
            raise ValidationFailedError("too many saved filters", {
                "name": [f"最多保存 {MAX_FILTERS} 个筛选 / at most {MAX_FILTERS} filters"]})
        existing = SavedFilter(username=user.username, name=name, query=cleaned)
        db.session.add(existing)
    else:
        existing.query = cleaned
    audit.record_event(None, "filter_saved", actor=user.username,
                       payload={"name": name, "query": cleaned})
    db.session.commit()
    return existing


def delete_filter(user: User, filter_id: int) -> None:
    """Delete one of the user's own filters; ``NotFoundError`` for anyone else's."""
    row = db.session.get(SavedFilter, filter_id)
    if row is None or row.username != user.username:
        raise NotFoundError(f"no saved filter {filter_id}")
    db.session.delete(row)
    audit.record_event(None, "filter_deleted", actor=user.username, payload={"name": row.name})
    db.session.commit()


@dataclass
class BulkClaim:
    claimed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, why)


def claim_many(user: User, task_ids: Iterable[str]) -> BulkClaim:
    """Claim each task for ``user``; the ones that cannot be claimed are reported, not raised.

    Raises ``ValidationFailedError`` when no task, or more than ``MAX_BULK``, is given."""
    ids = list(dict.fromkeys(str(i) for i in task_ids if str(i).strip()))
    if not ids or len(ids) > MAX_BULK:
        raise ValidationFailedError("choose the tasks to claim", {
            "task_ids": [f"请选择1到{MAX_BULK}项任务 / choose 1 to {MAX_BULK} tasks"]})
    outcome = BulkClaim()
    for task_id in ids:
        item = db.session.get(WorkItem, task_id)
        if item is not None and not tenancy.in_scope(user, item.case):
            item = None  # another county's task: as unknown as a made-up id
        name = item.name or item.element_id if item is not None else task_id
        try:
            if item is None:
                raise NotFoundError(task_id)
            if item.state != "ready":
                raise ConflictError("已办理或已取消 / no longer open")
            if item.claimed_by and item.claimed_by != user.username:
                raise ConflictError("已被他人认领 / claimed by someone else")
            tasks.claim_task(user, task_id)
        except PermissionDeniedError:
            db.session.rollback()
            outcome.refused.append((task_id, name, "无权认领 / not yours to claim"))
        except NotFoundError:
            db.session.rollback()
            outcome.refused.append((task_id, name, "任务不存在 / no such task"))
        except ServiceError as exc:
            db.session.rollback()
            outcome.refused.append((task_id, name, str(exc)))
        else:
            outcome.claimed.append(task_id)
    return outcome
