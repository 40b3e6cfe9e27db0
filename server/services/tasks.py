"""Task lists, claiming and completing human tasks."""

from __future__ import annotations

import functools
import json
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import BindParameter

from server.engine import clock
from server.engine.errors import ScriptError, ScriptLimitError, TaskNotReadyError
from server.extensions import db
from server.models import Case, User, WorkItem, WorkItemGroup
from server.models.cases import READY, like_escaped
from server.services import access, archive, plan, teams, tenancy
from server.services.audit import record_event
from server.services.case_state import record_step_events
from server.services.clock_pauses import refuse_while_referred
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SettledConflictError,
    ValidationFailedError,
)
from server.services.forms import FormDefinition, form_registry
from server.services.incidents import report_script_limit
from server.services.notifications import notify, recipients
from server.services.staging import release_ready_items
from server.services.store import Completion, case_store, with_retries


@dataclass
class TaskPage:
    items: list[WorkItem]
    total: int
    page: int
    per_page: int


@dataclass
class TaskFilter:
    scope: str = "all"  # mine | groups | all (mine + groups)
    department: str | None = None
    stage: str | None = None
    due_before: datetime | None = None
    case_id: str | None = None
    page: int = 1
    per_page: int = 20


#: Items offered to more than one group (the comma of ``candidate_groups``), as the partial
#: index ``ix_work_items_open_shared`` says it.
SHARED = WorkItem.candidate_groups.like(literal_column("'%,%'"))


#: A group code no item is offered to (``candidate_groups`` is a list joined by commas).
NO_GROUP = ","


#: The county shapes (``COUNTY_SHAPES``) decided by the rows' own county column alone.
_BY_ITEM = ("in", "in_or_default")


def _in_county(column: Any, county: str) -> ColumnElement[bool]:
    """``column`` (a row's county, NULL: the default county) lies in the bound ``counties``
    (and, for the shapes "in_or_default…", is NULL)."""
    found: ColumnElement[bool] = column.in_(bindparam("counties", expanding=True))
    return or_(found, column.is_(None)) if county.startswith("in_or_default") else found


def _offered(codes: Any) -> list[ColumnElement[bool]]:
    """Items offered to one of ``codes``, as disjoint conditions: offered to that group alone
    (one index range of ``ix_work_items_open_offers``), or to it among others."""
    many = isinstance(codes, BindParameter)
    shared = exists().where(WorkItemGroup.work_item_id == WorkItem.id,
                            WorkItemGroup.group_code.in_(codes) if many else
                            WorkItemGroup.group_code == codes)
    alone = WorkItem.candidate_groups.in_(codes) if many else WorkItem.candidate_groups == codes
    return [alone, and_(SHARED, shared)]


@functools.cache
def _visible(scope: str, enterprise: bool, county: str = "everywhere"
             ) -> tuple[ColumnElement[bool], ...]:
    """Ready tasks a user may work on, as disjoint conditions on ``work_items``, each served
    by its own index: assigned or claimed (``mine``), offered to one of the user's groups
    and unclaimed (``groups``), or both (``all``: offers claimed or not). Their union is
    the list; being disjoint, it is counted and paged with no pass that removes doubles
    (a million items, issue 18).

    Built once per shape with bound parameters (``me``, ``codes``, ``enterprise_id``):
    building the statement cost more than running it (issue 18's profile).
    """
    me: BindParameter[str] = bindparam("me")
    codes: BindParameter[list[str]] = bindparam("codes", expanding=True)
    offers: list[ColumnElement[bool]] = []
    if scope in {"groups", "all"}:
        offers += _offered(codes)
        if enterprise:
            own_case = WorkItem.case_id.in_(
                select(Case.id).where(Case.enterprise_id == bindparam("enterprise_id")))
            offers += [and_(o, own_case) for o in _offered(access.ENTERPRISE)]
    open_item = WorkItem.state == READY
    parts: list[ColumnElement[bool]] = []
    for n, offer in enumerate(offers):
        offered = and_(open_item, offer, *(~o for o in offers[:n]))
        if scope == "groups":
            parts.append(and_(offered, WorkItem.claimed_by.is_(None)))
        elif n == 0:
            # The many offers to the user's groups alone: the unclaimed ones are read from
            # ix_work_items_open_offers (its rows are unclaimed ones), the claimed ones apart.
            parts += [and_(offered, WorkItem.claimed_by.is_(None)),
                      and_(offered, WorkItem.claimed_by.is_not(None))]
        else:
            parts.append(offered)
    if scope in {"mine", "all"}:
        parts.append(and_(open_item, or_(WorkItem.assignee == me, WorkItem.claimed_by == me),
                          *(~o for o in offers)))
    if county in _BY_ITEM:
        # The item's own county (its case's, 0028_work_item_county): the county's rows only;
        # the default county's items that name none are parts of their own, each one range
        # of ix_work_items_open_offers (an OR of the two is a filter over every county's).
        counties = WorkItem.county.in_(bindparam("counties", expanding=True))
        parts = [and_(p, counties) for p in parts] + (
            [and_(p, WorkItem.county.is_(None)) for p in parts]
            if county == "in_or_default" else [])
    return tuple(parts) or (sa_false(),)


#: The most tasks one page shows, on the API and on the pages alike.
MAX_PER_PAGE = 200
#: The orders of a task list: due first (no due date last), latest due first, newest first;
#: created and id break ties, so pages neither repeat nor skip.
ORDERS = ("due", "-due", "created")


def _order(key: str, due: Any, created: Any, item_id: Any) -> tuple[Any, ...]:
    if key == "-due":
        return (due.is_(None), due.desc(), created, item_id)
    if key == "created":
        return (created.desc(), item_id)
    # NULLS LAST, as an index on due_at reads ascending on PostgreSQL: the page is read
    # from the index in order (the same order as "due_at IS NULL, due_at").
    return (due.asc().nulls_last(), created, item_id)


@dataclass(frozen=True)
class TaskQuery:
    """A task list: disjoint conditions on ``work_items`` whose union is the list, the
    conditions every item must meet as well, and the values of the bound parameters."""

    parts: tuple[ColumnElement[bool], ...]
    params: dict[str, Any]
    conditions: tuple[ColumnElement[bool], ...] = ()
    #: The statement is one of the few kept for the process (its pages are kept too).
    kept: bool = False

    def where(self, *conditions: ColumnElement[bool]) -> TaskQuery:
        """This list narrowed by ``conditions`` (a statement built for this call only)."""
        return TaskQuery(self.parts, self.params, (*self.conditions, *conditions))


#: How a task list is limited to the user's counties (``tenancy.county_scope``): not at all
#: (the prefecture), to cases of the bound counties, or to those and the default county's
#: cases that name none; "+own" adds the user's enterprise's cases in every county.
COUNTY_SHAPES = ("everywhere", "in", "in_or_default", "in+own", "in_or_default+own")


def _county_shape(scope: tenancy.CountyScope) -> str:
    if scope.counties is None:
        return "everywhere"
    shape = "in_or_default" if scope.default in scope.counties else "in"
    return f"{shape}+own" if scope.enterprise_id is not None else shape


@functools.cache
def _narrowed(scope: str, enterprise: bool, department: bool, stage: bool, due_before: bool,
              case_id: bool, county: str = "everywhere") -> tuple[ColumnElement[bool], ...]:
    conditions: list[ColumnElement[bool]] = []
    if county.endswith("+own"):
        # Group offers only from cases of the user's county: a department group in county A
        # is that group's users of county A. An enterprise's own cases lie in every county.
        in_county = or_(_in_county(Case.county, county),
                        Case.enterprise_id == bindparam("own_enterprise"))
        conditions.append(WorkItem.case_id.in_(select(Case.id).where(in_county)))
    if department:
        # Offered to the department (alone or among others): read from the item's own groups,
        # in the index the list is read from.
        # An equality the planner can count on for items offered to one group alone.
        listed = literal(",") + WorkItem.candidate_groups + literal(",")
        conditions.append(or_(WorkItem.candidate_groups == bindparam("department"), and_(
            SHARED, listed.like(bindparam("department_like"), escape="\\"))))
    if stage:
        conditions.append(WorkItem.stage == bindparam("stage"))
    if due_before:
        conditions.append(
            WorkItem.due_at <= bindparam("due_before", type_=WorkItem.due_at.type))
    if case_id:
        conditions.append(WorkItem.case_id == bindparam("case_id"))
    return tuple(and_(p, *conditions) for p in _visible(scope, enterprise, county))


def task_query(user: User, *, scope: str = "all", department: str | None = None,
               stage: str | None = None, due_before: datetime | None = None,
               case_id: str | None = None) -> TaskQuery:
    """The one task-list query: ready tasks ``user`` may work on (``_visible``), narrowed by
    a department that is offered the task, a stage, a due date, a case."""
    enterprise = access.ENTERPRISE in user.group_codes and user.enterprise_id is not None
    counties = tenancy.county_scope(user)
    parts = _narrowed(scope, enterprise, bool(department), bool(stage), bool(due_before),
                      bool(case_id), _county_shape(counties))
    params: dict[str, Any] = {"me": user.username,
                              "counties": sorted(counties.counties or ()),
                              "own_enterprise": counties.enterprise_id,
                              # Never empty: an empty list bound both in an IN and a
                              # NOT IN of one statement is rendered alike for both.
                              "codes": sorted(user.group_codes - {access.ENTERPRISE})
                              or [NO_GROUP],
                              "enterprise_id": user.enterprise_id, "department": department,
                              "department_like": f"%,{like_escaped(department)},%"
                              if department else None,
                              "stage": stage, "due_before": due_before, "case_id": case_id}
    return TaskQuery(parts, params, kept=True)


_PAGE = (bindparam("page_size", type_=Integer()), bindparam("page_start", type_=Integer()),
         bindparam("page_end", type_=Integer()))
_paging: dict[tuple[int, str], tuple[tuple[Any, ...], Select[Any], Select[Any]]] = {}


def _paged(query: TaskQuery, order_key: str) -> tuple[Select[Any], Select[Any]]:
    """The page's items and the count of ``query``: built once for each query kept above.

    Each part gives its first ``page_end`` items in order (on PostgreSQL the user's groups'
    offers read in order from ``ix_work_items_open_offers``, not sorted); the page is taken
    from their union, and only its items are read, with their cases, by the outer select:
    one statement, one round trip. The count adds the parts' counts.
    """
    entry = _paging.get((id(query.parts), order_key)) if query.kept else None
    if entry is not None and entry[0] is query.parts:
        return entry[1], entry[2]
    size, start, end = _PAGE
    firsts = [select(WorkItem.id, WorkItem.due_at, WorkItem.created_at)
              .where(part, *query.conditions)
              .order_by(*_order(order_key, WorkItem.due_at, WorkItem.created_at, WorkItem.id))
              for part in query.parts]
    if len(firsts) == 1:
        ids = firsts[0].with_only_columns(WorkItem.id).limit(size).offset(start)
    else:
        rows = union_all(*(select(first.limit(end).subquery()) for first in firsts)).subquery()
        ids = (select(rows.c.id)
               .order_by(*_order(order_key, rows.c.due_at, rows.c.created_at, rows.c.id))
               .limit(size).offset(start))
    items = (select(WorkItem).where(WorkItem.id.in_(ids.scalar_subquery()))
             .order_by(*_order(order_key, WorkItem.due_at, WorkItem.created_at, WorkItem.id))
             .options(joinedload(WorkItem.case)))
    counts = [select(func.count()).select_from(WorkItem).where(part, *query.conditions)
              .scalar_subquery() for part in query.parts]
    count = select(functools.reduce(operator.add, counts))
    if query.kept and len(_paging) < 512:
        _paging[(id(query.parts), order_key)] = (query.parts, items, count)
    return items, count


def page_of(query: TaskQuery, page: int, per_page: int, *, order_key: str = "due"
            ) -> TaskPage:
    """The one pagination of task lists: a page of ``query`` in the order ``order_key``
    (``ORDERS``) with the true total.

    A first page that is not full is its own total, so the count is skipped.
    """
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    items_of, count = _paged(query, order_key)
    items = list(db.session.execute(items_of, {**query.params, "page_size": per_page,
                                               "page_start": (page - 1) * per_page,
                                               "page_end": page * per_page}).scalars())
    case_store().note_items((i.id, i.case_id) for i in items)
    if page == 1 and len(items) < per_page:
        total = len(items)
    else:
        total = db.session.execute(count, query.params).scalar_one()
    return TaskPage(items, int(total), page, per_page)


def list_tasks(user: User, flt: TaskFilter) -> TaskPage:
    """The ready tasks a user may work on, sorted by due date, with a true total count."""
    query = task_query(user, scope=flt.scope, department=flt.department, stage=flt.stage,
                       due_before=flt.due_before, case_id=flt.case_id)
    return page_of(query, flt.page, flt.per_page)


forms = form_registry


def _scoped_item(user: User, task_id: str) -> WorkItem:
    """The task ``task_id`` when its case lies in ``user``'s counties; ``NotFoundError``
    otherwise (another county's task ids say nothing)."""
    item = db.session.get(WorkItem, task_id)
    if item is None or not tenancy.in_scope(user, item.case):
        raise NotFoundError(f"task {task_id} does not exist")
    case_store().note_items(((item.id, item.case_id),))
    return item


def get_work_item(user: User, task_id: str) -> WorkItem:
    """A task the user may see; raises ``NotFoundError`` (also for another county's task) or
    ``PermissionDeniedError``."""
    item = _scoped_item(user, task_id)
    if item.state == "ready" and access.acting_role(user, item) is not None:
        return item
    if access.can_see_case(user, item.case) or item.completed_by == user.username:
        return item
    raise PermissionDeniedError("this task is not yours")


def form_for(item: WorkItem) -> FormDefinition | None:
    """The task's form as deployed with its case's version (a later form version does not
    change a running case's form)."""
    if not item.form_key:
        return None
    return forms().get(item.form_key, deployment_id=item.case.deployment_id)


def _require_role(user: User, item: WorkItem) -> str:
    if item.state != "ready":
        raise SettledConflictError(f"task {item.id} is already {item.state}")
    role = access.acting_role(user, item)
    if role is None:
        if item.claimed_by and item.claimed_by != user.username:
            raise PermissionDeniedError(f"task is claimed by {item.claimed_by}")
        raise PermissionDeniedError("this task is not yours")
    return role


def complete_task(user: User, task_id: str, data: dict[str, Any]) -> WorkItem:
    """Complete a task with submitted form data and run the case on; all or nothing.

    Raises ``NotFoundError``, ``PermissionDeniedError``, ``ValidationFailedError`` (the form),
    ``ConflictError`` (already done).
    """
    case_id = case_store().case_of_item(task_id)
    if case_id is None:  # a task this process has not listed: its case is read first
        case_id = _scoped_item(user, task_id).case_id
    try:
        return with_retries(_complete_locked, user, case_id, task_id, data)  # type: ignore[no-any-return]
    except ValidationFailedError as exc:
        if isinstance(exc.__cause__, ScriptLimitError):
            report_script_limit(case_id, exc.__cause__)
        raise


def _complete_locked(user: User, case_id: str, task_id: str, data: dict[str, Any]) -> WorkItem:
    store = case_store()
    # The item is read with its case under the case's lock (one statement), and every check
    # of who may complete it is made on that reading.
    with store.locked(case_id, item_id=task_id) as live:
        item = live.item
        assert item is not None
        if not tenancy.in_scope(user, live.case):
            raise NotFoundError(f"task {task_id} does not exist")
        role = _require_role(user, item)
        form = form_for(item)
        cleaned = form.validate(data) if form is not None else dict(data)
        try:
            task = store.engine.find_ready_human_task(live.runtime, task_id)
        except TaskNotReadyError as exc:
            raise ConflictError(str(exc)) from exc
        # An item with the prefecture or the province is finished after their decision.
        refuse_while_referred(item.element_id, task.data)
        # A plan or a one-time notice is completed with what the catalog says (items chosen,
        # timetable, materials), not with retyped text.
        cleaned = plan.prepare_submission(live.case, item.form_key, task.data, cleaned,
                                          actor=user.username, role=role)
        # The team form names real people: checked, and the team row written, here.
        cleaned = teams.prepare_submission(live.case, item.form_key, task.data, cleaned,
                                           actor=user.username)
        # The archive holds every record the case's path requires, or a leader excused it.
        cleaned = archive.prepare_submission(live.case, item.form_key, cleaned)
        old = json.loads(json.dumps({k: task.data.get(k) for k in cleaned}, default=str))
        try:
            result = store.engine.complete(live.runtime, task_id, cleaned)
        except ScriptError as exc:
            raise ValidationFailedError(f"the process could not continue: {exc}",
                                        {"_process": [str(exc)]}) from exc
        now = clock.now()
        record_event(live.case, "task_completed", actor=user.username, role=role,
                     task_id=task_id, element_id=item.element_id, element_name=item.name,
                     payload={"old": old, "new": json.loads(json.dumps(cleaned, default=str))},
                     at=now)
        store.save(live.case, result, context=json.loads(live.case.summary or "{}"),
                   completion=Completion(task_id, user.username, now))
        # What the engine did next happened because this person acted.
        record_step_events(live.case, result, actor=user.username)
        # An item finished in this step may open the items that waited for it.
        release_ready_items(live.case, live.runtime, result, actor=user.username)
    return item


def claim_task(user: User, task_id: str, *, release: bool = False) -> WorkItem:
    """Claim a group task for oneself, or release it; raises as ``complete_task``."""
    item = _scoped_item(user, task_id)
    return with_retries(_claim_locked, user, item.case_id, task_id, release)  # type: ignore[no-any-return]


def _claim_locked(user: User, case_id: str, task_id: str, release: bool) -> WorkItem:
    store = case_store()
    # Under the case lock the item is read again: another person may have changed it.
    with store.locked(case_id, item_id=task_id) as live:
        item = live.item
        assert item is not None
        role = _require_role(user, item)
        if release:
            if item.claimed_by != user.username:
                raise ConflictError("you have not claimed this task")
            item.claimed_by = None
        else:
            if item.claimed_by == user.username:
                return item
            item.claimed_by = user.username
        record_event(live.case, "task_released" if release else "task_claimed",
                     actor=user.username, role=role, task_id=task_id,
                     element_id=item.element_id, element_name=item.name)
    return item


#: Groups whose members may hand an open task to someone else (转办/改派).
REASSIGNERS = ("leader", "admin")
MAX_REASON = 2000


def reassigning_role(user: User) -> str | None:
    """The group through which ``user`` may reassign tasks, or None."""
    return next((code for code in REASSIGNERS if code in user.group_codes), None)


def eligible_assignees(item: WorkItem) -> dict[str, str]:
    """Who may be handed ``item`` (username → display name): active members of its groups."""

    names = recipients(groups=item.group_codes, case_id=item.case_id)
    if not names:
        return {}
    return dict(db.session.execute(
        select(User.username, User.display_name).where(User.username.in_(names))
        .order_by(User.username)).all())


def reassign_task(user: User, task_id: str, *, to_username: str | None,
                  reason: str) -> WorkItem:
    """Hand an open task to one member of its groups, or (``None``) back to the groups.

    Raises ``NotFoundError``, ``PermissionDeniedError`` (not a leader or administrator),
    ``ValidationFailedError`` (no reason; ``to`` unknown, outside the task's groups, or the
    person or groups that hold it already),
    ``ConflictError`` (the task is no longer open).
    """
    item = _scoped_item(user, task_id)
    role = reassigning_role(user)
    if role is None:
        raise PermissionDeniedError("only leaders and administrators reassign tasks")
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailedError("a reassignment needs a reason",
                                    {"reason": [f"1 to {MAX_REASON} characters"]})
    return with_retries(_reassign_locked, user, role, item.case_id, task_id,  # type: ignore[no-any-return]
                        to_username or None, reason)


def _reassign_locked(user: User, role: str, case_id: str, task_id: str, to: str | None,
                     reason: str) -> WorkItem:

    store = case_store()
    # Under the case lock the item is read again: another person may have changed it.
    with store.locked(case_id, item_id=task_id) as live:
        item = live.item
        assert item is not None
        if item.state != "ready":
            raise ConflictError(f"task {item.id} is already {item.state}")
        if to is not None:
            eligible = eligible_assignees(item)
            if to not in eligible:
                raise ValidationFailedError(
                    f"{to} is not an active member of the task's groups",
                    {"to": [f"one of: {', '.join(eligible) or '(nobody)'}"]})
        held_by = item.claimed_by or item.assignee
        if to == held_by:
            # A 转办 to whoever holds it already (or to the groups it is already with) would
            # record a decision that changes nothing.
            raise ValidationFailedError(
                "the task is already held so; choose someone else",
                {"to": [f"任务已由 {to} 办理，请选择其他人员" if to else "任务已在候选组中"]})
        # A named person holds the task alone: it leaves the other members' group lists.
        item.assignee = item.claimed_by = to
        record_event(live.case, "task_reassigned", actor=user.username, role=role,
                     task_id=task_id, element_id=item.element_id, element_name=item.name,
                     payload={"from": held_by, "to": to, "reason": reason})
        if to is not None:
            notify(kind="reassigned", users=[to], case_id=case_id, task_id=task_id,
                   title=f"转办任务：{item.name}（{live.case.title}）",
                   body=f"{user.display_name} 将案件 {live.case.reference} 的任务“{item.name}”"
                        f"转交给您办理。理由：{reason}",
                   dedupe_key=f"reassigned:{task_id}:{live.case.event_count}")
    return item


def save_draft(user: User, task_id: str, data: dict[str, Any]) -> WorkItem:
    """Keep unfinished form input on the task (no validation, no engine step)."""
    item = _scoped_item(user, task_id)
    _require_role(user, item)
    item.draft = json.dumps(data, ensure_ascii=False, default=str)
    db.session.commit()
    return item
