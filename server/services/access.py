"""Who may see a case and who may act on a task: checks over loaded rows (and the user's
county scope, ``server.services.tenancy``)."""

from __future__ import annotations

from server.models import Case, User, WorkItem
from server.services.tenancy import in_scope

STAFF_READERS = frozenset({"bureau", "bureau_head", "leader", "window", "steward", "expert",
                           "supervision", "auditor", "admin"})
AREA_BOUND = frozenset({"bureau", "street"})
ENTERPRISE = "enterprise"


def can_see_case(user: User, case: Case, *, has_work_in_case: bool = False) -> bool:
    """Enterprises see their own cases; staff see cases of their county (the prefecture's
    every county) and area; agents their cases."""
    if not in_scope(user, case):
        return False
    groups = user.group_codes
    if ENTERPRISE in groups and not (groups & STAFF_READERS):
        return user.enterprise_id is not None and user.enterprise_id == case.enterprise_id
    if groups & (STAFF_READERS - AREA_BOUND):
        return True
    if groups & AREA_BOUND:
        return not user.area or not case.area or user.area == case.area
    return has_work_in_case


def acting_role(user: User, item: WorkItem) -> str | None:
    """The group through which ``user`` may act on ``item``, or None when they may not."""
    if item.state != "ready":
        return None
    if item.claimed_by and item.claimed_by != user.username:
        return None
    if item.assignee and item.assignee != user.username:
        return None
    if not in_scope(user, item.case):
        # A department group in county A is that group's users of county A (and the
        # prefecture's): another county's task is no one's here.
        return None
    codes = item.group_codes
    if ENTERPRISE in codes and ENTERPRISE in user.group_codes:
        case = item.case
        if user.enterprise_id is None or case.enterprise_id != user.enterprise_id:
            return None
        return ENTERPRISE
    for code in codes:
        if code != ENTERPRISE and code in user.group_codes:
            return code
    if item.assignee == user.username:
        return "assignee"
    return None
