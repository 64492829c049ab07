"""The case state machine: which action is allowed in which state, and where it leads (pure)."""

from collections.abc import Mapping
from types import MappingProxyType

NEW, OPEN, AWAITING_INFO, RESOLVED, CLOSED, CANCELLED = (
    "new",
    "open",
    "awaiting_info",
    "resolved",
    "closed",
    "cancelled",
)
STATES = (NEW, OPEN, AWAITING_INFO, RESOLVED, CLOSED, CANCELLED)
ACTIVE = (NEW, OPEN, AWAITING_INFO)  # counts against an agent's capacity, SLA clocks may run
TERMINAL = (CLOSED, CANCELLED)

# action -> states it is allowed in
ALLOWED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "assign": ACTIVE,
        "respond": ACTIVE,
        "note": (*ACTIVE, RESOLVED),
        "await-info": (NEW, OPEN),
        "customer-reply": (*ACTIVE, RESOLVED),
        "change-priority": ACTIVE,
        "resolve": ACTIVE,
        "accept": (RESOLVED,),
        "reject": (RESOLVED,),
        "cancel": ACTIVE,
        "request-field-service": ACTIVE,
        "escalate-itsm": ACTIVE,
    }
)
ACTIONS = tuple(ALLOWED)


def refusal(action: str, state: str) -> str | None:
    """Why `action` is not allowed in `state`, or None when it is."""
    allowed = ALLOWED.get(action)
    if allowed is None:
        return f"unknown action {action!r}"
    if state not in allowed:
        return f"cannot {action} a case that is {state}; allowed when {' or '.join(allowed)}"
    return None


def next_state(action: str, state: str) -> str:
    """The state after `action` (assumes `refusal` returned None)."""
    match action:
        case "await-info":
            return AWAITING_INFO
        case "customer-reply" | "reject":
            return OPEN if state in (AWAITING_INFO, RESOLVED) else state
        case "respond" | "assign" | "change-priority" | "note":
            return OPEN if state == NEW else state
        case "request-field-service" | "escalate-itsm":
            return OPEN if state == NEW else state
        case "resolve":
            return RESOLVED
        case "accept":
            return CLOSED
        case "cancel":
            return CANCELLED
    raise ValueError(action)


def is_reopen(action: str, state: str) -> bool:
    return state == RESOLVED and action in ("customer-reply", "reject")
