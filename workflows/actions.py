"""The action table: every action on a case, who may take it, in which states, with what.

One table read by the workflow's validators, the API's checks, the OpenAPI document (the
`{action}` path parameter), the pages' forms and the tests. Each action is its own update
on CaseWorkflow, named by its value ("respond", "await-info"), with its own input below.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType

from workflows.vocabulary import ACTIVE, CaseState, Role

R = CaseState


class Action(StrEnum):
    """An action on a running case: each is an update of its workflow (who may take it and when:
    the action table)."""

    ASSIGN = "assign"
    RESPOND = "respond"
    NOTE = "note"
    AWAIT_INFO = "await-info"
    CUSTOMER_REPLY = "customer-reply"
    CHANGE_PRIORITY = "change-priority"
    RESOLVE = "resolve"
    ACCEPT = "accept"
    REJECT = "reject"
    CANCEL = "cancel"
    REQUEST_FIELD_SERVICE = "request-field-service"
    ESCALATE_ITSM = "escalate-itsm"
    ASSIGN_PARTNER = "assign-partner"


# ----- each action's input (one dataclass per update; new fields get defaults) ------------


@dataclass(kw_only=True)
class ActionInput:
    """Who acts; every action's input carries it."""

    actor_role: str = Role.SYSTEM
    actor_id: str | None = None


@dataclass(kw_only=True)
class AssignInput(ActionInput):
    agent_id: str | None = None


@dataclass(kw_only=True)
class RespondInput(ActionInput):
    body: str | None = None


@dataclass(kw_only=True)
class NoteInput(ActionInput):
    body: str | None = None


@dataclass(kw_only=True)
class AwaitInfoInput(ActionInput):
    body: str | None = None


@dataclass(kw_only=True)
class CustomerReplyInput(ActionInput):
    body: str | None = None


@dataclass(kw_only=True)
class ChangePriorityInput(ActionInput):
    priority: int | None = None


@dataclass(kw_only=True)
class ResolveInput(ActionInput):
    resolution: str | None = None


@dataclass(kw_only=True)
class AcceptInput(ActionInput):
    pass


@dataclass(kw_only=True)
class RejectInput(ActionInput):
    reason: str | None = None


@dataclass(kw_only=True)
class CancelInput(ActionInput):
    reason: str | None = None


@dataclass
class FieldServiceRequest:
    """What a work order needs; empty fields are pre-filled from the case (asset, site)."""

    skills: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    window_start: str | None = None
    window_end: str | None = None
    notes: str | None = None
    location: str | None = None
    territory: str | None = None
    auto_resolve: bool = False  # resolve the case when the work order is completed as fixed
    rule_id: str | None = None


@dataclass
class ItsmEscalation:
    summary: str | None = None  # None: the case subject
    urgency: int = 3
    impact: int = 3
    auto_resolve: bool = False  # resolve the case with the incident's resolution


@dataclass(kw_only=True)
class RequestFieldServiceInput(ActionInput):
    request: FieldServiceRequest = field(default_factory=FieldServiceRequest)


@dataclass(kw_only=True)
class EscalateItsmInput(ActionInput):
    escalation: ItsmEscalation = field(default_factory=ItsmEscalation)


@dataclass(kw_only=True)
class AssignPartnerInput(ActionInput):
    partner_account_id: str | None = None


@dataclass
class ActionResult:
    state: str
    version: int


# ----- the table --------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRule:
    allowed_in: tuple[CaseState, ...]
    roles: tuple[Role, ...]  # besides admin, who may do everything
    input: type[ActionInput]
    summary: str
    required: tuple[str, ...] = ()  # input fields that must be given and not empty

    @property
    def fields(self) -> tuple[str, ...]:
        """The input's own fields (what a caller sends), actor aside."""
        return tuple(f.name for f in fields(self.input) if f.name not in ("actor_role", "actor_id"))


AGENT, SUPERVISOR, PARTNER = Role.AGENT, Role.SUPERVISOR, Role.PARTNER
CUSTOMER = (Role.CONTACT, Role.CONSUMER)

ACTIONS: Mapping[Action, ActionRule] = MappingProxyType(
    {
        Action.ASSIGN: ActionRule(
            ACTIVE, (AGENT, SUPERVISOR), AssignInput, "Assign the case to an agent", ("agent_id",)
        ),
        Action.RESPOND: ActionRule(
            ACTIVE,
            (AGENT, PARTNER),
            RespondInput,
            "Reply to the customer (public; stops the response SLA)",
            ("body",),
        ),
        Action.NOTE: ActionRule(
            (*ACTIVE, R.RESOLVED), (AGENT, PARTNER), NoteInput, "Add an internal note", ("body",)
        ),
        Action.AWAIT_INFO: ActionRule(
            (R.NEW, R.OPEN),
            (AGENT,),
            AwaitInfoInput,
            "Ask the customer a question (pauses the SLAs that pause on it)",
            ("body",),
        ),
        Action.CUSTOMER_REPLY: ActionRule(
            (*ACTIVE, R.RESOLVED),
            (*CUSTOMER, Role.INTEGRATION),
            CustomerReplyInput,
            "The customer writes (resumes from awaiting_info; reopens a resolved case)",
            ("body",),
        ),
        Action.CHANGE_PRIORITY: ActionRule(
            ACTIVE,
            (AGENT, SUPERVISOR),
            ChangePriorityInput,
            "Change the priority (1 critical … 4 low); default SLAs follow it",
            ("priority",),
        ),
        Action.RESOLVE: ActionRule(
            ACTIVE,
            (AGENT,),
            ResolveInput,
            "Propose a resolution (soft-close: the reopen window starts)",
            ("resolution",),
        ),
        Action.ACCEPT: ActionRule(
            (R.RESOLVED,), CUSTOMER, AcceptInput, "The customer accepts the resolution (closes)"
        ),
        Action.REJECT: ActionRule(
            (R.RESOLVED,), CUSTOMER, RejectInput, "The customer rejects the resolution (reopens)"
        ),
        Action.CANCEL: ActionRule(ACTIVE, (AGENT, SUPERVISOR), CancelInput, "Cancel the case"),
        Action.REQUEST_FIELD_SERVICE: ActionRule(
            ACTIVE,
            (AGENT,),
            RequestFieldServiceInput,
            "Spawn a field-service work order (a child workflow)",
        ),
        Action.ESCALATE_ITSM: ActionRule(
            ACTIVE,
            (AGENT,),
            EscalateItsmInput,
            "Open a linked ITSM incident (at most one open per case)",
        ),
        Action.ASSIGN_PARTNER: ActionRule(
            ACTIVE,
            (AGENT, SUPERVISOR),
            AssignPartnerInput,
            "Assign the case to a partner account (its partner users then see and work it)",
            ("partner_account_id",),
        ),
    }
)


def refusal(action: Action, state: str) -> str | None:
    """Why `action` is not allowed in `state`, or None when it is."""
    allowed = ACTIONS[action].allowed_in
    if state not in allowed:
        return f"cannot {action} a case that is {state}; allowed when {' or '.join(allowed)}"
    return None


def missing(action: Action, arg: ActionInput) -> str | None:
    """The first required field the input lacks, or None."""
    for name in ACTIONS[action].required:
        if getattr(arg, name, None) in (None, ""):
            return name
    return None


def may_take(role: str, action: Action) -> bool:
    return role == Role.ADMIN or role in ACTIONS[action].roles
