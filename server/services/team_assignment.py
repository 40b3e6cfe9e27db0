"""Who a case's newly opened tasks go to: its steward team's named people.

Read by the case store as it writes a step (``services/store.py``), so it sits below both the
store and the team's own service (``services/teams.py``, which changes the team under the
case lock).
"""

from __future__ import annotations

from collections.abc import Sequence

from server.engine.runtime import HumanTask
from server.extensions import db
from server.models import Case, CaseTeam
from server.rules.assignment import (
    LEADER_GROUP,
    LEADER_OWN_ELEMENTS,
    STEWARD_GROUP,
    Team,
    team_assignee,
)


def team_of(case_id: str) -> Team | None:
    """The case's team as stored, or None before the window formed one."""
    row = db.session.get(CaseTeam, case_id)
    if row is None:
        return None
    return Team(row.steward, row.leader, tuple(row.co_agent_names))


def assign_new_tasks(case: Case, human: Sequence[HumanTask]) -> None:
    """Give the case's newly opened steward and supervision tasks to its named people (in
    place, before they are written, notified and audited)."""
    opened = [t for t in human if t.state == "ready" and not t.assignee
              and (STEWARD_GROUP in t.candidate_groups
                   or (LEADER_GROUP in t.candidate_groups
                       and t.element_id in LEADER_OWN_ELEMENTS))]
    if not opened:
        return
    # A team formed in this very step is still pending in the session (steps do not flush).
    row = next((o for o in db.session.new
                if isinstance(o, CaseTeam) and o.case_id == case.id), None)
    team = (Team(row.steward, row.leader, tuple(row.co_agent_names)) if row is not None
            else team_of(case.id))
    for task in opened:
        task.assignee = team_assignee(task.element_id, task.candidate_groups, team)
