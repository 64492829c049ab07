"""WorkOrderWorkflow: one field-service visit, a child of its case, from dispatch to done."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import cast

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import calls
from workflows.types import (
    CancelWorkOrder,
    RecordWorkOrderInput,
    TechnicianBooked,
    WorkOrderAction,
    WorkOrderActionResult,
    WorkOrderChanged,
    WorkOrderDispatchInput,
    WorkOrderDispatchResult,
    WorkOrderInput,
)
from workflows.vocabulary import (
    INVALID,
    NOT_ALLOWED,
    WORK_ORDER_DONE,
    WORK_ORDER_OPEN,
    Role,
    WorkOrderState,
)

# Signal names (the case hears of changes; a work order hears of its booking and of the case).
WORK_ORDER_SIGNAL = "work_order_changed"
BOOKED_SIGNAL = "technician_booked"
CANCEL_SIGNAL = "cancel_work_order"

W = WorkOrderState
NEW, WAITING, DISPATCHED, ACCEPTED = W.NEW, W.WAITING, W.DISPATCHED, W.ACCEPTED
IN_PROGRESS, COMPLETED, CANCELLED = W.IN_PROGRESS, W.COMPLETED, W.CANCELLED
DONE, OPEN = WORK_ORDER_DONE, WORK_ORDER_OPEN

# action -> (states it is allowed in, state it leads to)
ALLOWED: Mapping[str, tuple[tuple[str, ...], str]] = MappingProxyType(
    {
        "accept": ((DISPATCHED,), ACCEPTED),
        "start": ((DISPATCHED, ACCEPTED), IN_PROGRESS),
        "complete": ((ACCEPTED, IN_PROGRESS), COMPLETED),
        "cancel": (OPEN, CANCELLED),
    }
)
ACTIONS = tuple(ALLOWED)


def refusal(action: str, state: str) -> str | None:
    allowed = ALLOWED.get(action)
    if allowed is None:
        return f"unknown action {action!r}"
    if state not in allowed[0]:
        return (
            f"cannot {action} a work order that is {state}; allowed when {' or '.join(allowed[0])}"
        )
    return None


async def dispatch(
    arg: WorkOrderDispatchInput, *, own_id: str | None = None
) -> WorkOrderDispatchResult:
    """Dispatch, then tell every booked work order other than the caller's own.

    The activity returns the same bookings when retried with the same key, and signals from
    a workflow are durable, so no booking is left untold.
    """
    result = await calls.dispatch_work_orders(arg)
    for booked in result.booked:
        if booked.work_order_id != own_id:
            try:
                await workflow.get_external_workflow_handle(booked.workflow_id).signal(
                    BOOKED_SIGNAL, booked
                )
            except Exception as err:  # it ended meanwhile; its row says so
                workflow.logger.warning("could not tell %s: %s", booked.workflow_id, err)
    return result


@dataclass
class WorkOrderData:
    state: str = NEW
    version: int = 0
    technician_id: str | None = None
    technician_name: str | None = None
    bookings_seen: list[str] = field(default_factory=list)
    cancel: CancelWorkOrder | None = None


@workflow.defn(name="WorkOrderWorkflow")
class WorkOrderWorkflow:
    def __init__(self) -> None:
        self.s = WorkOrderData()
        self.arg: WorkOrderInput | None = None
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, arg: WorkOrderInput) -> str:
        self.arg = arg
        routed = await dispatch(
            WorkOrderDispatchInput(f"{arg.work_order_id}:open", arg.work_order_id),
            own_id=arg.work_order_id,
        )
        async with self.lock:
            mine = [b for b in routed.booked if b.work_order_id == arg.work_order_id]
            if mine:
                await self._booked(mine[0])
            elif self.s.state == NEW:  # not booked meanwhile by another dispatch's signal
                self.s.state = WAITING
                await self._tell_case(WAITING, reason=routed.waiting_reason)
        while self.s.state not in DONE:
            await workflow.wait_condition(lambda: self.s.state in DONE or self.s.cancel is not None)
            if self.s.cancel is not None and self.s.state not in DONE:
                async with self.lock:
                    if self.s.state not in DONE:
                        await self._cancelled_by_case(self.s.cancel.reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s.state

    # ----- dispatch ------------------------------------------------------------------------

    @workflow.signal(name=BOOKED_SIGNAL)
    async def technician_booked(self, booked: TechnicianBooked) -> None:
        await workflow.wait_condition(lambda: self.arg is not None)
        async with self.lock:
            await self._booked(booked)

    async def _booked(self, booked: TechnicianBooked) -> None:
        if booked.work_order_id in self.s.bookings_seen or self.s.state not in (NEW, WAITING):
            return
        self.s.bookings_seen.append(booked.work_order_id)
        self.s.state = DISPATCHED
        self.s.technician_id, self.s.technician_name = booked.technician_id, booked.technician_name
        self.s.version += 1
        # The row says dispatched only now, once this workflow takes the technician's actions.
        await calls.record_work_order(
            RecordWorkOrderInput(
                work_order_id=cast(WorkOrderInput, self.arg).work_order_id,
                version=self.s.version,
                state=DISPATCHED,
                at=workflow.now().isoformat(),
                actor_role=Role.SYSTEM,
            )
        )
        await self._tell_case(DISPATCHED)

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel_requested(self, req: CancelWorkOrder) -> None:
        if self.s.cancel is None:
            self.s.cancel = req

    async def _cancelled_by_case(self, reason: str) -> None:
        # Compensation: the case is over, so the visit is off; the technician is told, and
        # the case (which already recorded it) is not signalled back.
        await self._change(WorkOrderAction("cancel", Role.SYSTEM, reason=reason), tell_case=False)

    # ----- technician actions --------------------------------------------------------------

    @workflow.update(name="act")
    async def act(self, a: WorkOrderAction) -> WorkOrderActionResult:
        async with self.lock:
            self._check(a)  # again under the lock: two actions accepted together
            await self._change(a, tell_case=True)
            return WorkOrderActionResult(self.s.state, self.s.version)

    @act.validator
    def _validate(self, a: WorkOrderAction) -> None:
        self._check(a)

    def _check(self, a: WorkOrderAction) -> None:
        why = refusal(a.action, self.s.state)
        if why:
            raise ApplicationError(why, type=NOT_ALLOWED, non_retryable=True)
        if a.actor_role == Role.TECHNICIAN and a.actor_id != self.s.technician_id:
            raise ApplicationError("the work order is not assigned to you", type=NOT_ALLOWED)
        if a.action == "complete" and a.fixed is None:
            raise ApplicationError("fixed (true or false) is required", type=INVALID)

    async def _change(self, a: WorkOrderAction, *, tell_case: bool) -> None:
        s, arg = self.s, cast(WorkOrderInput, self.arg)  # given once run has begun
        s.state = ALLOWED[a.action][1]
        s.version += 1
        recorded = await calls.record_work_order(
            RecordWorkOrderInput(
                work_order_id=arg.work_order_id,
                version=s.version,
                state=s.state,
                at=workflow.now().isoformat(),
                actor_role=a.actor_role,
                actor_id=a.actor_id,
                notes=a.notes,
                parts_used=list(a.parts_used),
                fixed=a.fixed,
                reason=a.reason,
                tell_technician=s.state == CANCELLED and a.actor_role != Role.TECHNICIAN,
            )
        )
        # The row knows of a booking whose signal may still be on its way.
        s.technician_id = s.technician_id or recorded.technician_id
        if tell_case:
            await self._tell_case(
                s.state,
                reason=a.reason,
                notes=a.notes,
                parts_used=list(a.parts_used),
                fixed=a.fixed,
                actor=(a.actor_role, a.actor_id),
            )
        if s.state in DONE:
            # The technician's window is free again: give it to a waiting work order.
            await dispatch(WorkOrderDispatchInput(f"{arg.work_order_id}:{s.state}"))

    @workflow.query(name="state")
    def state(self) -> WorkOrderData:
        return self.s

    # ----- the case and notifications ------------------------------------------------------

    async def _tell_case(
        self,
        state: str,
        *,
        reason: str | None = None,
        notes: str | None = None,
        parts_used: list[str] | None = None,
        fixed: bool | None = None,
        actor: tuple[str | None, str | None] = (None, None),
    ) -> None:
        arg = cast(WorkOrderInput, self.arg)
        change = WorkOrderChanged(
            work_order_id=arg.work_order_id,
            number=arg.number,
            state=state,
            technician_id=self.s.technician_id,
            technician_name=self.s.technician_name,
            reason=reason,
            notes=notes,
            parts_used=parts_used or [],
            fixed=fixed,
            actor_role=actor[0],
            actor_id=actor[1],
        )
        try:
            await workflow.get_external_workflow_handle(arg.case_workflow_id).signal(
                WORK_ORDER_SIGNAL, change
            )
        except Exception as err:  # the case has ended; the work order's row still says it
            workflow.logger.info("case %s not told of %s: %s", arg.case_workflow_id, state, err)


@workflow.defn(name="WorkOrderDispatchWorkflow")
class WorkOrderDispatchWorkflow:
    """Dispatches waiting work orders after a change outside any of them (a technician
    becomes available, or is added)."""

    @workflow.run
    async def run(self, arg: WorkOrderDispatchInput) -> WorkOrderDispatchResult:
        return await dispatch(arg)
