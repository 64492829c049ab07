"""The case lifecycle as pure rules: may this action be taken, and what does it do.

`refusal(case, action, arg)` says why an action may not be taken (the update validators and
the handlers, under the lock, both ask). `decide(case, action, arg, now)` turns an allowed
action into `Effects`: the next state, the case fields it sets, the clock operations, the
timeline event, the notifications and what routing must do. `apply(case, effects, now)`
writes them into the case. Nothing here does I/O or knows Temporal: the workflow
orchestrates, these decide.

    new ──intake──▶ open ◀─────────────── customer replies / rejects (reopen)
                     │ ▲                  │
       awaiting_info ┘ │                  │
                     ▼ │                  │
                  resolved (reopen window) ──window ends / customer accepts──▶ closed
       any active state ──cancel──▶ cancelled
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from workflows import sla
from workflows.actions import (
    ACTIONS,
    Action,
    missing,
)
from workflows.actions import (
    refusal as state_refusal,
)
from workflows.case_data import CaseData
from workflows.types import Notify
from workflows.vocabulary import (
    ACTIVE,
    INCIDENT_OPEN,
    INVALID,
    NOT_ALLOWED,
    CaseState,
    SlaKind,
)


@dataclass(frozen=True)
class Refusal:
    type: str  # NOT_ALLOWED (409) or INVALID (422)
    message: str


class Routing(StrEnum):
    NONE = "none"
    FREED = "freed"  # the agent's capacity changed: route the waiting cases
    REQUEUE = "requeue"  # reopened: route this case again, its last agent first


@dataclass(frozen=True)
class ClockOp:
    op: str  # start | stop
    kind: SlaKind


@dataclass
class Effects:
    state: CaseState
    event: str  # the timeline event's kind
    body: str | None = None
    public: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    notify: list[Notify] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)  # CaseData fields to set
    clocks: list[ClockOp] = field(default_factory=list)
    stop_all_clocks: bool = False
    reopened: bool = False
    set_assignee: bool = False  # an explicit assign writes the assignee; routing owns it else
    routing: Routing = Routing.NONE
    swap_slas: bool = False  # priority-sourced SLAs follow the new priority


# An action's own input (ACTIONS[action].input, a subclass of ActionInput): the matches below
# read its fields by the action they match on, which the type checker cannot follow.
GivenInput = Any


def refusal(case: CaseData, action: Action, arg: GivenInput) -> Refusal | None:
    """Why the action may not be taken now, or None."""
    if why := state_refusal(action, case.state):
        return Refusal(NOT_ALLOWED, why)
    if name := missing(action, arg):
        return Refusal(INVALID, f"{name} is required for {action}")
    match action:
        case Action.ASSIGN if arg.agent_id == case.assigned_agent_id:
            return Refusal(NOT_ALLOWED, "already assigned to that agent")
        case Action.ASSIGN_PARTNER if arg.partner_account_id == case.partner_account_id:
            return Refusal(NOT_ALLOWED, "already assigned to that partner")
        case Action.CHANGE_PRIORITY if arg.priority not in (1, 2, 3, 4):
            return Refusal(INVALID, "priority must be 1..4")
        case Action.REQUEST_FIELD_SERVICE:
            req = arg.request
            if req.window_start and req.window_end and _at(req.window_end) <= _at(req.window_start):
                return Refusal(INVALID, "window_end must be after window_start")
        case Action.ESCALATE_ITSM:
            if open_ := [i for i in case.incidents if i.state in INCIDENT_OPEN]:
                return Refusal(
                    NOT_ALLOWED, f"the case already has an open incident ({open_[0].number})"
                )
    return None


def next_state(action: Action, state: str) -> CaseState:
    """The state after `action` (assumes `refusal` returned None)."""
    match action:
        case Action.AWAIT_INFO:
            return CaseState.AWAITING_INFO
        case Action.CUSTOMER_REPLY | Action.REJECT if state in (
            CaseState.AWAITING_INFO,
            CaseState.RESOLVED,
        ):
            return CaseState.OPEN
        case Action.RESOLVE:
            return CaseState.RESOLVED
        case Action.ACCEPT:
            return CaseState.CLOSED
        case Action.CANCEL:
            return CaseState.CANCELLED
    return CaseState.OPEN if state == CaseState.NEW else CaseState(state)


def is_reopen(action: Action, state: str) -> bool:
    return state == CaseState.RESOLVED and action in (Action.CUSTOMER_REPLY, Action.REJECT)


def decide(case: CaseData, action: Action, arg: GivenInput, now: datetime) -> Effects:
    """What an allowed action does (assumes `refusal` returned None)."""
    fx = Effects(next_state(action, case.state), event=action.replace("-", "_"))
    fx.body = getattr(arg, "body", None)
    match action:
        case Action.ASSIGN:
            fx.changes["assigned_agent_id"] = arg.agent_id
            fx.set_assignee, fx.public = True, False
            fx.notify = [Notify("assignment", "agent")]
            fx.data = {"agent_id": arg.agent_id, "previous_agent_id": case.assigned_agent_id}
        case Action.ASSIGN_PARTNER:
            fx.changes["partner_account_id"] = arg.partner_account_id
            fx.public = False
            fx.data = {
                "partner_account_id": arg.partner_account_id,
                "previous_partner_account_id": case.partner_account_id,
            }
        case Action.RESPOND:
            fx.clocks = [ClockOp("stop", SlaKind.RESPONSE)]
            fx.notify = [Notify("reply", "customer", body=arg.body)]
        case Action.NOTE:
            fx.public = False
        case Action.AWAIT_INFO:
            fx.notify = [Notify("question", "customer", body=arg.body)]
        case Action.CHANGE_PRIORITY:
            fx.changes["priority"] = arg.priority
            fx.data = {"from": case.priority, "to": arg.priority}
            fx.public = False
            fx.swap_slas = case.sla_source == "priority"
        case Action.RESOLVE:
            fx.body = arg.resolution
            ends = now + timedelta(seconds=case.reopen_window_seconds)
            fx.changes |= {
                "resolution": arg.resolution,
                "resolved_at": now.isoformat(),
                "reopen_window_ends_at": ends.isoformat(),
            }
            fx.clocks = [ClockOp("stop", SlaKind.RESOLUTION)]
            fx.notify = [Notify("resolution_proposed", "customer", body=arg.resolution)]
        case Action.ACCEPT:
            fx.changes["closed_at"] = now.isoformat()
            fx.data = {"reason": "accepted"}
            fx.notify = closing_notices("accepted")
        case Action.REJECT:
            fx.body = arg.reason
        case Action.CANCEL:
            fx.body = arg.reason
            fx.stop_all_clocks = True
            fx.notify = [Notify("cancelled", "customer", reason=arg.reason)]
    if is_reopen(action, case.state):
        fx.reopened = True
        fx.changes |= {
            "reopen_count": case.reopen_count + 1,
            "reopen_window_ends_at": None,
            "resolved_at": None,
            "resolution": None,
        }
        fx.clocks.append(ClockOp("start", SlaKind.RESOLUTION))  # resumes where it stopped
        fx.data["reopened"] = True
        fx.routing = Routing.REQUEUE
    elif (case.state in ACTIVE and fx.state not in ACTIVE) or (
        fx.set_assignee and case.assigned_agent_id is not None
    ):
        fx.routing = Routing.FREED
    return fx


def closing_notices(reason: str) -> list[Notify]:
    return [Notify("closed", "customer", reason=reason), Notify("csat_survey", "customer")]


def apply(case: CaseData, fx: Effects, now: datetime) -> None:
    """Write the effects into the case: state, fields, clocks (which then follow the state)."""
    case.state = fx.state
    for name, value in fx.changes.items():
        setattr(case, name, value)
    for clock in case.clocks:
        if fx.stop_all_clocks:
            sla.stop(clock, now)
        for op in fx.clocks:
            if clock.spec.kind == op.kind:
                (sla.start if op.op == "start" else sla.stop)(clock, now)
        sla.follow_state(clock, case.state, now)


def lapse(case: CaseData, at: datetime) -> Effects:
    """The reopen window ran out with no answer: the case closes."""
    return Effects(
        CaseState.CLOSED,
        event="closed",
        data={"reason": "lapsed"},
        notify=closing_notices("lapsed"),
        changes={"closed_at": at.isoformat()},
    )


def _at(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


__all__ = ["ACTIONS", "Effects", "Refusal", "Routing", "apply", "decide", "lapse", "refusal"]
