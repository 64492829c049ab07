"""The words every layer shares: states, roles and their groups, as StrEnums (pure).

Workflows, activities, the API, the pages and the SQL (partial-index predicates) all read
these; none re-types a state as a string tuple. A StrEnum member is its string, so values
cross Temporal, JSON and PostgreSQL unchanged.
"""

from enum import StrEnum


class CaseState(StrEnum):
    """A case's state: new until intake has run, then open, awaiting_info, resolved (the reopen
    window runs), closed or cancelled."""

    NEW = "new"
    OPEN = "open"
    AWAITING_INFO = "awaiting_info"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# Counts against an agent's capacity; SLA clocks may run.
ACTIVE: tuple[CaseState, ...] = (CaseState.NEW, CaseState.OPEN, CaseState.AWAITING_INFO)
# Still running: a resolved case's reopen window is open, its clocks may resume.
LIVE: tuple[CaseState, ...] = (*ACTIVE, CaseState.RESOLVED)
TERMINAL: tuple[CaseState, ...] = (CaseState.CLOSED, CaseState.CANCELLED)


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    TECHNICIAN = "technician"
    INTEGRATION = "integration"
    PARTNER = "partner"
    CONTACT = "contact"
    CONSUMER = "consumer"
    SYSTEM = "system"  # the workflow itself (a rule, a timer): never a token's role


TOKEN_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
STAFF: tuple[Role, ...] = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
CUSTOMERS: tuple[Role, ...] = (Role.CONTACT, Role.CONSUMER)


class WorkOrderState(StrEnum):
    """A field-service work order's state: new, waiting (for a fitting technician), dispatched,
    accepted, in_progress, then completed or cancelled."""

    NEW = "new"
    WAITING = "waiting"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


WORK_ORDER_DONE: tuple[WorkOrderState, ...] = (WorkOrderState.COMPLETED, WorkOrderState.CANCELLED)
WORK_ORDER_OPEN: tuple[WorkOrderState, ...] = tuple(
    s for s in WorkOrderState if s not in WORK_ORDER_DONE
)


class IncidentState(StrEnum):
    """An ITSM incident's state (failed: its delivery to the service desk gave up)."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    FAILED = "failed"  # delivery to the ITSM gave up; never set from outside


INCIDENT_OPEN: tuple[IncidentState, ...] = (IncidentState.NEW, IncidentState.IN_PROGRESS)
INCIDENT_OVER: tuple[IncidentState, ...] = (IncidentState.CLOSED, IncidentState.FAILED)
# What the ITSM (or the built-in desk) may report back.
INCIDENT_REPORTABLE: tuple[IncidentState, ...] = (
    IncidentState.NEW,
    IncidentState.IN_PROGRESS,
    IncidentState.RESOLVED,
    IncidentState.CLOSED,
)


class SlaKind(StrEnum):
    """What an SLA clock measures: the time to the first response, or to resolution."""

    RESPONSE = "response"
    RESOLUTION = "resolution"


class Channel(StrEnum):
    """Where a case came from."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    PORTAL = "portal"
    SOCIAL = "social"
    API = "api"
    EVENT = "event"


# ApplicationError types a workflow refuses with; the API maps them to 409 and 422.
NOT_ALLOWED = "ActionNotAllowed"  # 409
INVALID = "InvalidAction"  # 422
STEP_FAILED = "StepFailed"  # 409: a step failed for good; the case went on without it


class KnowledgeVerdict(StrEnum):
    """A customer's word on a suggested article: it solved the problem (a deflection: no
    case opened) or it did not help."""

    SOLVED = "solved"
    NOT_HELPFUL = "not_helpful"


class MergeKind(StrEnum):
    """What a customer merge folds into its survivor."""

    ACCOUNT = "account"
    CONTACT = "contact"


class FanOutKind(StrEnum):
    """What a major case's fan-out does to each child (workflows/fan_out.py)."""

    OPEN = "open"  # an event: open the major case, then a child case per affected customer
    RESOLVE = "resolve"  # resolve the major case, then every still-active child with it
    BROADCAST = "broadcast"  # tell every child's customer once (notification + timeline)
