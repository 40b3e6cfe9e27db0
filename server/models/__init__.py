"""Typed SQLAlchemy models, one aggregate per module; importing this registers them all."""

from server.models.aftercare import (
    AftercareProject,
    AftercareSetting,
    Milestone,
    ProgressEntry,
    SupervisionTask,
)
from server.models.attachments import Attachment
from server.models.audit import AuditEvent
from server.models.calendar import CalendarDay, CalendarYear
from server.models.cases import Case, EngineTask, WorkItem, WorkItemGroup
from server.models.checkpoints import Checkpoint
from server.models.complaints import Complaint, ComplaintSetting
from server.models.counties import County, CountyCatalog
from server.models.designer import DesignDraft
from server.models.handups import Handup
from server.models.incidents import Incident
from server.models.intermediaries import (
    Agency,
    AgencyEngagement,
    AgencyRegistration,
    IntermediaryService,
)
from server.models.notifications import MailAddress, Notice, Notification
from server.models.passwords import PasswordHistory
from server.models.policies import Policy, PolicyDelivery
from server.models.preferences import FieldVisibility, SavedFilter
from server.models.processes import Deployment, DeploymentFile, ProcessDefinition
from server.models.projects import CaseProject
from server.models.proxy import ProxyCode, ReturnVisit, TerminationRequest
from server.models.reports import Report
from server.models.reserve import ReserveEvaluation, ReserveProject, ReserveStageChange
from server.models.teams import CaseTeam
from server.models.timers import PendingTimer
from server.models.users import ApiToken, Enterprise, Group, User

__all__ = [
    "ApiToken", "Attachment", "AuditEvent", "Case", "Deployment", "DeploymentFile", "EngineTask",
    "Enterprise", "Group", "PendingTimer", "ProcessDefinition", "User", "WorkItem",
    "WorkItemGroup",
    "Checkpoint",
    "DesignDraft",
    "Handup",
    "Incident", "MailAddress", "Notice", "Notification",
    "CalendarDay", "CalendarYear",
    "County",
    "CountyCatalog",
    "CaseProject",
    "CaseTeam",
    "Complaint", "ComplaintSetting",
    "ProxyCode", "ReturnVisit", "TerminationRequest",
    "ReserveEvaluation", "ReserveProject", "ReserveStageChange",
    "AftercareProject", "AftercareSetting", "Milestone", "ProgressEntry", "SupervisionTask",
    "Report",
    "Policy", "PolicyDelivery",
    "Agency", "AgencyEngagement", "AgencyRegistration", "IntermediaryService",
    "PasswordHistory",
    "FieldVisibility", "SavedFilter",
]
