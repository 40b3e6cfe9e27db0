"""Who answers for a task by name: the case's steward team (一个项目、一名领导、一批人员).

Pure: given a task's element, its candidate groups and the team, the one person it is
assigned to, or None when it stays with its groups. Seed 004 §五(三) names a lead agent
(牵头代办员) per project and a responsible leader (包保/挂钩联系领导); steward tasks are the
lead agent's, the overdue supervision (领导督办) is the leader's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STEWARD_GROUP = "steward"
LEADER_GROUP = "leader"
#: Leader tasks that belong to the case's own leader; other leader tasks (the joint meeting,
#: 联席会议) stay with the leaders' group.
LEADER_OWN_ELEMENTS = frozenset({"supervise_overdue_item"})


@dataclass(frozen=True)
class Team:
    steward: str
    leader: str
    co_agents: tuple[str, ...] = ()


def team_assignee(element_id: str, groups: Sequence[str], team: Team | None) -> str | None:
    """The named person a new task goes to, or None (it stays with its candidate groups)."""
    if team is None:
        return None
    if STEWARD_GROUP in groups:
        return team.steward
    if LEADER_GROUP in groups and element_id in LEADER_OWN_ELEMENTS:
        return team.leader
    return None


def answerable(team: Team | None) -> list[str]:
    """Who is told personally when the case's work is late: the lead steward and the leader."""
    if team is None:
        return []
    return [name for name in (team.steward, team.leader) if name]
