"""Typed SQLAlchemy models, one aggregate per module; importing this registers them all."""

from server.models.attachments import Attachment
from server.models.audit import AuditEvent
from server.models.calendar import CalendarDay, CalendarYear
from server.models.cases import Case, EngineTask, WorkItem, WorkItemGroup
from server.models.checkpoints import Checkpoint
from server.models.counties import County
from server.models.designer import DesignDraft
from server.models.incidents import Incident
from server.models.notifications import MailAddress, Notification
from server.models.preferences import FieldVisibility, SavedFilter
from server.models.processes import Deployment, DeploymentFile, ProcessDefinition
from server.models.projects import CaseProject
from server.models.teams import CaseTeam
from server.models.timers import PendingTimer
from server.models.users import ApiToken, Enterprise, Group, User

__all__ = [
    "ApiToken", "Attachment", "AuditEvent", "Case", "Deployment", "DeploymentFile", "EngineTask",
    "Enterprise", "Group", "PendingTimer", "ProcessDefinition", "User", "WorkItem",
    "WorkItemGroup",
    "Checkpoint",
    "DesignDraft",
    "Incident", "MailAddress", "Notification",
    "CalendarDay", "CalendarYear",
    "County",
    "CaseProject",
    "CaseTeam",
    "FieldVisibility", "SavedFilter",
]
