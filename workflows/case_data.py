"""What a case workflow knows, carried whole across continue-as-new (plain dataclasses)."""

from dataclasses import dataclass, field

from workflows import sla
from workflows.types import NewCase, OpenedCase, PolicyChanged
from workflows.vocabulary import CaseState, IncidentState, WorkOrderState


@dataclass
class WorkOrderRef:
    work_order_id: str
    number: str
    workflow_id: str
    state: str = WorkOrderState.NEW
    technician_id: str | None = None
    auto_resolve: bool = False


@dataclass
class IncidentRef:
    incident_id: str
    number: str
    adapter: str
    state: str = IncidentState.NEW
    external_id: str | None = None
    auto_resolve: bool = False


@dataclass
class CaseData:
    state: str = CaseState.NEW
    version: int = 0  # bumped by every change; the projection row keeps the newest
    priority: int = 3
    queue: str = "support"
    assigned_agent_id: str | None = None
    entitlement_id: str | None = None
    account_id: str | None = None
    reopen_window_seconds: int = 7 * 24 * 3600
    reopen_window_ends_at: str | None = None
    reopen_count: int = 0
    resolution: str | None = None
    resolved_at: str | None = None
    closed_at: str | None = None
    clocks: list[sla.SlaClock] = field(default_factory=list)
    assignments_seen: list[str] = field(default_factory=list)
    intake_done: bool = False
    sla_source: str = "entitlement"  # entitlement | priority (defaults follow the priority)
    escalation_queue: str | None = None
    policy_inbox: list[PolicyChanged] = field(default_factory=list)
    work_orders: list[WorkOrderRef] = field(default_factory=list)
    incidents: list[IncidentRef] = field(default_factory=list)
    contact_id: str | None = None  # kept since 0.2.0: a customer merge may change it
    partner_account_id: str | None = None  # the partner account working the case, if any


@dataclass
class CaseInput:
    case_id: str
    number: str
    carried: CaseData | None = None  # across continue-as-new
    new: NewCase | None = None  # a new case: intake inserts its row
    # Continue-as-new past this many history events (0: when the server suggests it, well
    # before Temporal's hard limits). Tests set it low to cross the boundary quickly.
    history_limit: int = 0
    # A new case whose intake and first routing are done already (an event's children are
    # opened in bulk, activities/opening.open_many): the run takes them instead of running
    # `open_case`. Runs started before this field existed never carry it, so their
    # histories replay unchanged.
    opened: OpenedCase | None = None
