"""The case's steward team: named people who answer for its steps (seed 004 §五(三)).

"一个项目、一名领导、一批人员": the window forms the team (form ``steward_team``) by picking
real users — the lead steward (牵头代办员) from the stewards, co-agents (协同代办员) from the
departments that own the case's items, the responsible leader (包保/挂钩联系领导) from the
leaders. New steward tasks of the case are then assigned to the lead steward, the overdue
supervision to the leader (``server.rules.assignment``, applied as the store writes each
step: ``services/team_assignment.py``); overdue alerts reach both by name.
A later change of the team is a decision of a leader or the window, audited ``team_changed``,
and moves the open tasks the old people held to the new ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update

from server.engine import clock
from server.extensions import db
from server.models import Case, CaseTeam, Group, User, WorkItem
from server.rules.assignment import (
    LEADER_GROUP,
    STEWARD_GROUP,
)
from server.services.audit import record_event
from server.services.case_state import live_data
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.notifications import notify
from server.services.store import case_store, with_retries

TEAM_FORM = "steward_team"
#: Who may change a formed team: the leaders and the window that formed it, and administrators.
TEAM_CHANGERS = ("leader", "window", "admin")
MAX_REASON = 2000


# ---- who may be picked ----------------------------------------------------------------
def _members(codes: Iterable[str]) -> dict[str, str]:
    """Active members of ``codes`` (username → display name), by username."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    rows = db.session.execute(
        select(User.username, User.display_name).join(User.groups)
        .where(Group.code.in_(codes), User.active).order_by(User.username)).all()
    return {str(u): str(n) for u, n in rows}


def item_departments(data: dict[str, Any]) -> list[str]:
    """The department groups that own the case's approval items, in the case's order."""
    items = [i for i in data.get("items") or [] if isinstance(i, dict)]
    return list(dict.fromkeys(str(i["department"]) for i in items if i.get("department")))


def choices(data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The people the team form offers, per field: stewards, co-agents of the case's
    departments, leaders (``username``, ``display name``)."""
    def pairs(members: dict[str, str]) -> list[tuple[str, str]]:
        return [(u, f"{n}（{u}）") for u, n in members.items()]

    return {"steward_username": pairs(_members([STEWARD_GROUP])),
            "co_agent_usernames": pairs(_members(item_departments(data))),
            "leader_username": pairs(_members([LEADER_GROUP]))}


def _check_people(data: dict[str, Any], steward: str, leader: str,
                  co_agents: Sequence[str]) -> dict[str, str]:
    """Display names of the chosen people; raises ``ValidationFailedError`` naming each field
    whose person is unknown, inactive or outside the group the role is chosen from."""
    stewards = _members([STEWARD_GROUP])
    leaders = _members([LEADER_GROUP])
    agents = _members(item_departments(data))
    errors: dict[str, list[str]] = {}
    if steward not in stewards:
        errors["steward_username"] = [f"“{steward}”不是在岗的项目管家（steward 组）"]
    if leader not in leaders:
        errors["leader_username"] = [f"“{leader}”不是在岗的领导（leader 组）"]
    strangers = [a for a in co_agents if a not in agents]
    if strangers:
        errors["co_agent_usernames"] = [f"“{'、'.join(strangers)}”不是本案事项所属部门的在岗代办员"]
    if errors:
        raise ValidationFailedError("the team names people who cannot take these roles", errors)
    return {**stewards, **leaders, **agents}


# ---- forming the team -------------------------------------------------------------------
def prepare_submission(case: Case, form_key: str | None, data: dict[str, Any],
                       cleaned: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """The team form's submission with the chosen people's names filled in; the team row is
    written in the caller's transaction. Raises ``ValidationFailedError`` (a person who cannot
    take the role: nothing is written)."""
    if form_key != TEAM_FORM:
        return cleaned
    steward = str(cleaned.get("steward_username") or "")
    leader = str(cleaned.get("leader_username") or "")
    co_agents = [str(a) for a in dict.fromkeys(cleaned.get("co_agent_usernames") or [])]
    names = _check_people(data, steward, leader, co_agents)
    row = db.session.get(CaseTeam, case.id)
    if row is None:
        row = CaseTeam(case_id=case.id)
        db.session.add(row)
    row.steward, row.leader = steward, leader
    row.co_agents = json.dumps(co_agents, ensure_ascii=False)
    row.updated_by, row.updated_at = actor, clock.now()
    tell_co_agents(case, co_agents, names[steward], actor=actor)
    # The printed team (and older readers of the case data) see the names, not user names.
    return {**cleaned, "co_agent_usernames": co_agents, "steward_name": names[steward],
            "responsible_leader": names[leader],
            "co_agent_names": [names[a] for a in co_agents]}


# ---- co-agents (协同代办员) are told ------------------------------------------------------
def tell_co_agents(case: Case, usernames: Sequence[str], steward_name: str, *,
                   actor: str) -> None:
    """Tell co-agents (inbox and mail) that they are named on the case's team, in the
    caller's transaction."""

    if not usernames:
        return
    notify(kind="reassigned", users=list(usernames), case_id=case.id,
           title=f"列为协同代办员：{case.title}",
           body=f"您被列为案件 {case.reference}（{case.title}）项目管家服务团队的协同代办员，"
                f"牵头代办员为 {steward_name}。本部门事项的预警、超期提醒将同时发给您。",
           dedupe_key=f"co-agent:{case.id}:{case.event_count}:{actor}")


def co_agents_for(case_id: str, groups: Iterable[str]) -> list[str]:
    """The case's co-agents who belong to one of ``groups`` (an item's department)."""
    row = db.session.get(CaseTeam, case_id)
    if row is None or not row.co_agent_names:
        return []
    members = _members([g for g in groups if g.startswith("dept_")])
    return [a for a in row.co_agent_names if a in members]


# ---- changing it later ------------------------------------------------------------------
def changing_role(user: User) -> str | None:
    return next((code for code in TEAM_CHANGERS if code in user.group_codes), None)


def change_team(user: User, case_id: str, *, steward: str, leader: str,
                co_agents: Sequence[str], reason: str) -> CaseTeam:
    """Record a decision to change a formed team; open tasks held by the old steward or
    leader move to the new one. Commits.

    Raises ``NotFoundError`` (no case), ``PermissionDeniedError`` (not a leader, the window
    or an administrator), ``ConflictError`` (no team yet, the case has ended, nothing would
    change), ``ValidationFailedError`` (no reason; a person who cannot take the role).
    """

    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    role = changing_role(user)
    if role is None:
        raise PermissionDeniedError("only leaders, the window and administrators change a team")
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailedError("a team change needs a reason",
                                    {"reason": [f"请说明理由（1–{MAX_REASON} 字）"]})
    co_agents = [str(a) for a in dict.fromkeys(a for a in co_agents if a)]
    if case.status != "running":
        raise ConflictError("the case has ended; its team is part of the record")
    if db.session.get(CaseTeam, case_id) is None:
        raise ConflictError("the team has not been formed yet (组建项目管家团队)")

    def locked() -> CaseTeam:
        with case_store().locked(case_id) as live:
            if live.case.status != "running":
                raise ConflictError("the case has ended; its team is part of the record")
            row = db.session.get(CaseTeam, case_id)
            if row is None:
                raise ConflictError("the team has not been formed yet (组建项目管家团队)")
            _check_people(live_data(live.case), steward, leader, co_agents)
            before = {"steward": row.steward, "leader": row.leader,
                      "co_agents": row.co_agent_names}
            after = {"steward": steward, "leader": leader, "co_agents": co_agents}
            if before == after:
                raise ValidationFailedError("the team is already so; nothing to change",
                                            {"steward_username": ["与现有团队相同，无需调整"]})
            moved = _move_open_tasks(case_id, before, after)
            row.steward, row.leader = steward, leader
            row.co_agents = json.dumps(co_agents, ensure_ascii=False)
            row.updated_by, row.updated_at = user.username, clock.now()
            record_event(live.case, "team_changed", actor=user.username, role=role,
                         payload={"from": before, "to": after, "reason": reason,
                                  "tasks_moved": moved})
            tell_co_agents(live.case, [a for a in co_agents if a not in before["co_agents"]],
                           _members([STEWARD_GROUP]).get(steward, steward),
                           actor=user.username)
            for name in {steward, leader} - {before["steward"], before["leader"]}:
                notify(kind="reassigned", users=[name], case_id=case_id,
                       title=f"加入服务团队：{live.case.title}",
                       body=f"{user.display_name} 调整了案件 {live.case.reference} 的项目管家"
                            f"服务团队，由您负责。理由：{reason}",
                       dedupe_key=f"team:{case_id}:{live.case.event_count}")
            return row

    return with_retries(locked)  # type: ignore[no-any-return]


def _move_open_tasks(case_id: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Open tasks the old steward (or leader, for his own tasks) held go to the new one."""
    moved: list[str] = []
    for old, new, group in ((before["steward"], after["steward"], STEWARD_GROUP),
                            (before["leader"], after["leader"], LEADER_GROUP)):
        if old == new:
            continue
        ids = list(db.session.execute(
            select(WorkItem.id).where(WorkItem.case_id == case_id, WorkItem.state == "ready",
                                      WorkItem.assignee == old,
                                      WorkItem.candidate_groups.contains(group))).scalars())
        if ids:
            db.session.execute(update(WorkItem).where(WorkItem.id.in_(ids))
                               .values(assignee=new, claimed_by=None)
                               .execution_options(synchronize_session=False))
            moved.extend(ids)
    return sorted(moved)


# ---- what the case page shows -----------------------------------------------------------
def team_view(user: User, case: Case, data: dict[str, Any]) -> dict[str, Any] | None:
    """The case's team by name, and (for those who may change it, while the case runs) the
    people each role may be given; None before the team is formed."""
    row = db.session.get(CaseTeam, case.id)
    if row is None:
        return None
    named = [row.steward, row.leader, *row.co_agent_names]
    names = dict(db.session.execute(
        select(User.username, User.display_name).where(User.username.in_(named))).all())
    may_change = changing_role(user) is not None and case.status == "running"
    return {"steward": (row.steward, names.get(row.steward, row.steward)),
            "leader": (row.leader, names.get(row.leader, row.leader)),
            "co_agents": [(a, names.get(a, a)) for a in row.co_agent_names],
            "updated_by": row.updated_by, "updated_at": row.updated_at,
            "choices": choices(data) if may_change else None}
