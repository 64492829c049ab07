"""Dataclasses that cross the Temporal boundary: workflow, update, signal and activity I/O.

Times are ISO 8601 strings so histories stay readable and converter-agnostic. New fields get
defaults, so running workflows keep decoding old payloads.
"""

from dataclasses import dataclass, field
from typing import Any

from workflows.actions import FieldServiceRequest, ItsmEscalation  # noqa: F401 (re-exported)


@dataclass
class SlaSpec:
    definition_id: str
    name: str
    kind: str  # response | resolution
    duration_seconds: int
    schedule: dict[str, Any] | None = None  # workflows.calendar.Schedule.to_dict(); None = 24x7
    warn_at: list[float] = field(default_factory=lambda: [0.5, 0.75])
    pause_on: list[str] = field(default_factory=lambda: ["awaiting_info"])


@dataclass
class NewCase:
    """What a new case came with, as the API (or an automation) took it: intake inserts the
    row from this, so no case row exists before its workflow does."""

    subject: str
    channel: str
    description: str | None = None
    contact_id: str | None = None
    account_id: str | None = None
    consumer_id: str | None = None
    requester_email: str | None = None
    requester_name: str | None = None
    product_id: str | None = None
    asset_id: str | None = None
    category: dict[str, Any] = field(default_factory=dict)
    priority: int | None = None  # None: from the entitlement and category
    required_skills: list[str] = field(default_factory=list)
    queue: str | None = None
    parent_case_id: str | None = None
    # FieldServiceRequest fields: the new case spawns this work order at intake (a
    # maintenance plan's visit), as a matching category rule's would.
    field_service: dict[str, Any] | None = None


@dataclass
class IntakeInput:
    case_id: str
    number: str = ""
    new: NewCase | None = None  # None: the row exists already


@dataclass
class WhenOpened:
    """The `opened` update's input: it waits for intake and answers what intake made."""


@dataclass
class Opened:
    case_id: str
    state: str
    assigned_agent_id: str | None = None
    queue: str | None = None


@dataclass
class IntakeResult:
    priority: int
    queue: str
    account_id: str | None = None
    contact_id: str | None = None
    consumer_id: str | None = None
    entitlement_id: str | None = None
    reopen_window_seconds: int = 7 * 24 * 3600
    slas: list[SlaSpec] = field(default_factory=list)
    notification_ids: list[str] = field(default_factory=list)
    created_at: str = ""
    sla_source: str = "entitlement"  # entitlement | priority (defaults swap on a priority change)
    escalation_queue: str | None = None
    # A matching category rule's FieldServiceRequest fields: the case spawns a work order.
    field_service: dict[str, Any] | None = None


@dataclass
class AssignmentMade:
    assignment_id: str
    case_id: str
    workflow_id: str
    agent_id: str
    notification_id: str | None = None


@dataclass
class DispatchInput:
    """Route waiting cases; `key` makes a retried dispatch return the same decisions."""

    key: str
    enqueue_case_id: str | None = None
    keep_agent_id: str | None = None  # on reopen: keep this agent if capacity allows

    @classmethod
    def at_intake(cls, case_id: str) -> "DispatchInput":
        """A new case's first routing."""
        return cls(key=f"{case_id}:intake", enqueue_case_id=case_id)


@dataclass
class DispatchResult:
    assignments: list[AssignmentMade] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)  # case ids put back in the queue


@dataclass
class OpenedCase:
    """A new case's intake and its first routing, done in one transaction."""

    intake: IntakeResult
    routed: DispatchResult


@dataclass
class Notify:
    template: str
    to: str  # customer | agent | supervisor | account_manager
    body: str | None = None  # None: worded from `data` outside the workflow (activities/wording.py)
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseProjection:
    """The case view fields the workflow owns, written to PostgreSQL after each change."""

    version: int
    state: str
    priority: int
    assigned_agent_id: str | None
    reopen_count: int
    reopen_window_ends_at: str | None
    resolved_at: str | None
    closed_at: str | None
    resolution: str | None
    sla: list[dict[str, Any]]
    next_due_at: str | None
    breached: bool
    queue: str | None = None  # None: leave as it is
    set_assignee: bool = False  # only an explicit assign writes the assignee; routing owns it
    partner_account_id: str | None = None  # None: leave as it is (a partner is never unset)


@dataclass
class RecordInput:
    case_id: str
    key: str
    kind: str
    at: str
    actor_role: str | None = None
    actor_id: str | None = None
    body: str | None = None
    public: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    projection: CaseProjection | None = None
    notify: list[Notify] = field(default_factory=list)


@dataclass
class RecordResult:
    notification_ids: list[str] = field(default_factory=list)
    # On a resolve: whether the case is major (it has children, or is an event's major
    # case) and its event. Histories from before 0.2.0 carry neither: they read as not major.
    major: bool = False
    event_ref: str | None = None


@dataclass
class AssignedSignal:
    assignment_id: str
    agent_id: str
    notification_id: str | None = None


@dataclass
class SlaLookup:
    """The default SLA definitions for a priority (when no entitlement grants any)."""

    priority: int


@dataclass
class SlaLookupResult:
    slas: list[SlaSpec] = field(default_factory=list)


@dataclass
class PolicyChanged:
    """SLA definitions edited while cases run: re-time the clocks that use them."""

    change_id: str
    slas: list[SlaSpec] = field(default_factory=list)


@dataclass
class PolicyChangeInput:
    change_id: str
    definition_ids: list[str] = field(default_factory=list)


@dataclass
class AffectedCases:
    workflow_ids: list[str] = field(default_factory=list)
    slas: list[SlaSpec] = field(default_factory=list)


# ----- field service ---------------------------------------------------------------------


@dataclass
class CreateWorkOrderInput:
    case_id: str
    key: str  # idempotency key: a retried create returns the same work order
    request: FieldServiceRequest = field(default_factory=FieldServiceRequest)
    actor_role: str | None = None
    actor_id: str | None = None


@dataclass
class WorkOrderCreated:
    work_order_id: str
    number: str
    workflow_id: str
    location: str | None = None
    territory: str | None = None
    skills: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    window_start: str | None = None
    window_end: str | None = None
    asset_id: str | None = None


@dataclass
class WorkOrderInput:
    work_order_id: str
    number: str
    case_id: str
    case_workflow_id: str


@dataclass
class WorkOrderDispatchInput:
    """Dispatch waiting work orders; `key` makes a retried dispatch return the same decisions."""

    key: str
    enqueue_work_order_id: str | None = None


@dataclass
class TechnicianBooked:
    work_order_id: str
    workflow_id: str
    technician_id: str
    technician_name: str = ""
    notification_id: str | None = None


@dataclass
class WorkOrderDispatchResult:
    booked: list[TechnicianBooked] = field(default_factory=list)
    waiting_reason: str | None = None  # why the enqueued work order is still waiting


@dataclass
class WorkOrderAction:
    """A technician's (or staff) action on a work order: an update on WorkOrderWorkflow."""

    action: str  # accept | start | complete | cancel
    actor_role: str
    actor_id: str | None = None
    notes: str | None = None
    parts_used: list[str] = field(default_factory=list)
    fixed: bool | None = None
    reason: str | None = None


@dataclass
class WorkOrderActionResult:
    state: str
    version: int


@dataclass
class CancelWorkOrder:
    """The case ended (cancelled or closed): compensate by cancelling the work order."""

    reason: str


@dataclass
class RecordWorkOrderInput:
    work_order_id: str
    version: int
    state: str
    at: str
    actor_role: str | None = None
    actor_id: str | None = None
    notes: str | None = None
    parts_used: list[str] = field(default_factory=list)
    fixed: bool | None = None
    reason: str | None = None
    tell_technician: bool = False  # a cancellation the technician did not make themselves


@dataclass
class RecordWorkOrderResult:
    technician_id: str | None = None
    notification_ids: list[str] = field(default_factory=list)


@dataclass
class WorkOrderChanged:
    """Signal from a work order to its case: a step of its life, for the timeline."""

    work_order_id: str
    number: str
    state: str
    technician_id: str | None = None
    technician_name: str | None = None
    reason: str | None = None  # why it waits, or why it was cancelled
    notes: str | None = None
    parts_used: list[str] = field(default_factory=list)
    fixed: bool | None = None
    actor_role: str | None = None
    actor_id: str | None = None


# ----- ITSM ------------------------------------------------------------------------------


@dataclass
class OpenIncidentInput:
    case_id: str
    key: str
    escalation: ItsmEscalation = field(default_factory=ItsmEscalation)


@dataclass
class IncidentOpened:
    incident_id: str
    number: str
    adapter: str  # builtin | webhook
    summary: str = ""


@dataclass
class DeliverIncidentInput:
    incident_id: str


@dataclass
class IncidentDelivered:
    external_id: str | None = None


@dataclass
class IncidentUpdate:
    """A status change of a linked incident (inbound webhook or the built-in desk's API)."""

    incident_id: str
    status: str  # new | in_progress | resolved | closed | failed (delivery gave up)
    comment: str | None = None
    resolution: str | None = None
    actor_role: str | None = None
    actor_id: str | None = None
    external_id: str | None = None


@dataclass
class IncidentUpdateResult:
    state: str
    case_state: str
