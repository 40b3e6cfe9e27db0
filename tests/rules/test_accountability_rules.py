"""Pure rules of issue 13: who a new task is assigned to, and what an archive must hold."""

from __future__ import annotations

from server.rules.archive import RECORDS, missing_records, required_records
from server.rules.assignment import Team, answerable, team_assignee

TEAM = Team("guanjia", "lingdao", ("fgj",))


def test_steward_tasks_go_to_the_lead_steward_and_supervision_to_the_leader() -> None:
    assert team_assignee("urge_overdue_item", ["steward"], TEAM) == "guanjia"
    assert team_assignee("supervise_overdue_item", ["leader"], TEAM) == "lingdao"
    # The joint meeting is the leaders' group's; a department's task its department's.
    assert team_assignee("decide_in_joint_meeting", ["leader"], TEAM) is None
    assert team_assignee("handle_item", ["dept_fgj"], TEAM) is None
    assert team_assignee("urge_overdue_item", ["steward"], None) is None
    assert answerable(TEAM) == ["guanjia", "lingdao"] and answerable(None) == []


def test_the_archive_requires_what_the_path_went_through() -> None:
    rejected_early = required_records({"review_application", "sign_acceptance"})
    assert rejected_early == ["consultation", "application", "evaluation", "visits"]
    supervised = required_records({"draft_service_plan", "handle_item", "supervise_overdue_item",
                                   "fill_termination_sheet"})
    assert supervised == ["consultation", "application", "plan", "handling", "supervision",
                          "closure", "evaluation", "visits"]
    assert set(supervised) <= set(RECORDS)
    assert missing_records(supervised, ["application", "plan", "handling", "closure",
                                        "evaluation", "visits"], ["consultation"]) == [
        "supervision"]
