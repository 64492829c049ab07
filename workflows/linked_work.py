"""A case's linked work: field-service work orders (child workflows) and ITSM incidents.

The case workflow holds one `LinkedWork` and calls it with its lock held; this module starts
the work, hears how it goes and records it on the case's timeline. The words of the timeline
and of the mails are written outside the workflow (activities/wording.py) from the data.
"""

import asyncio
from datetime import datetime
from typing import Any, Protocol, cast

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

from workflows import calls
from workflows.actions import EscalateItsmInput, FieldServiceRequest, ItsmEscalation
from workflows.background import InFlight
from workflows.case_data import CaseData, IncidentRef, WorkOrderRef
from workflows.types import (
    CancelWorkOrder,
    CreateWorkOrderInput,
    DeliverIncidentInput,
    IncidentUpdate,
    Notify,
    OpenIncidentInput,
    RecordResult,
    WorkOrderChanged,
    WorkOrderInput,
)
from workflows.vocabulary import (
    ACTIVE,
    INCIDENT_OPEN,
    INCIDENT_OVER,
    INCIDENT_REPORTABLE,
    INVALID,
    NOT_ALLOWED,
    WORK_ORDER_DONE,
    IncidentState,
    Role,
    WorkOrderState,
)
from workflows.work_order import CANCEL_SIGNAL, WorkOrderWorkflow

Actor = tuple[str | None, str | None]


class CaseHost(Protocol):
    """What linked work needs of its case workflow."""

    case_id: str
    s: CaseData
    lock: asyncio.Lock
    in_flight: InFlight

    async def record(
        self,
        kind: str,
        *,
        key: str,
        now: datetime,
        actor: Actor = ...,
        body: str | None = ...,
        public: bool = ...,
        data: dict[str, Any] | None = ...,
        notify: list[Notify] | None = ...,
        set_assignee: bool = ...,
    ) -> RecordResult: ...

    async def resolve_by_system(self, resolution: str, key: str) -> None: ...


class LinkedWork:
    def __init__(self, case: CaseHost) -> None:
        self.case = case

    # ----- work orders ------------------------------------------------------------------

    async def request_field_service(
        self, req: FieldServiceRequest, *, key: str, actor: Actor = (Role.SYSTEM, None)
    ) -> None:
        """Create the work order (pre-filled from the case) and start its child workflow."""
        case = self.case
        created = await calls.create_work_order(
            CreateWorkOrderInput(case.case_id, f"{case.case_id}:{key}", req, *actor)
        )
        await workflow.start_child_workflow(
            WorkOrderWorkflow.run,
            WorkOrderInput(
                created.work_order_id, created.number, case.case_id, workflow.info().workflow_id
            ),
            id=created.workflow_id,
            # Its own life: a continue-as-new of the case must not end the visit. The case
            # cancels open work orders itself when it ends.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        case.s.work_orders.append(
            WorkOrderRef(
                created.work_order_id,
                created.number,
                created.workflow_id,
                auto_resolve=req.auto_resolve,
            )
        )
        await case.record(
            "request_field_service",
            key=key,
            actor=actor,
            body=req.notes,
            public=False,
            data={
                "work_order_id": created.work_order_id,
                "number": created.number,
                "asset_id": created.asset_id,
                "location": created.location,
                "territory": created.territory,
                "skills": created.skills,
                "parts": created.parts,
                "window_start": created.window_start,
                "window_end": created.window_end,
                "rule_id": req.rule_id,
            },
            now=workflow.now(),
        )

    async def work_order_changed(self, u: WorkOrderChanged) -> None:
        case = self.case
        ref = next((w for w in case.s.work_orders if w.work_order_id == u.work_order_id), None)
        if ref is None or ref.state in WORK_ORDER_DONE or ref.state == u.state:
            return  # not ours, already over, or told twice
        ref.state = u.state
        ref.technician_id = u.technician_id or ref.technician_id
        data: dict[str, Any] = {
            "work_order_id": u.work_order_id,
            "number": u.number,
            "state": u.state,
            "technician_id": u.technician_id,
            "technician": u.technician_name,
        }
        body, notify = None, []
        match u.state:
            case WorkOrderState.WAITING | WorkOrderState.CANCELLED:
                body = u.reason
            case WorkOrderState.COMPLETED:
                body = u.notes
                data |= {"fixed": u.fixed, "parts_used": u.parts_used, "notes": u.notes}
                notify = [Notify("work_order_completed", "agent", data=data)]
        if u.state == WorkOrderState.CANCELLED:
            notify = [Notify("work_order_cancelled", "agent", reason=u.reason, data=data)]
        await case.record(
            f"work_order_{u.state}",
            key=f"wo:{u.work_order_id}:{u.state}",
            actor=(u.actor_role, u.actor_id),
            body=body,
            public=False,
            data=data,
            notify=notify,
            now=workflow.now(),
        )
        fixed = u.state == WorkOrderState.COMPLETED and u.fixed
        if fixed and ref.auto_resolve and case.s.state in ACTIVE:
            resolution = f"Resolved by work order {u.number}" + (f": {u.notes}" if u.notes else ".")
            await case.resolve_by_system(resolution, f"wo-{u.work_order_id}")

    def open_work_orders(self) -> list[WorkOrderRef]:
        return [w for w in self.case.s.work_orders if w.state not in WORK_ORDER_DONE]

    async def cancel_open_work_orders(self) -> None:
        """Compensation: the case is over, so are its visits; each tells its technician."""
        case = self.case
        reason = f"The case was {case.s.state}."
        for ref in self.open_work_orders():
            try:
                await workflow.get_external_workflow_handle(ref.workflow_id).signal(
                    CANCEL_SIGNAL, CancelWorkOrder(reason)
                )
            except Exception as err:  # it ended meanwhile
                workflow.logger.info("work order %s not cancelled: %s", ref.number, err)
            ref.state = WorkOrderState.CANCELLED
            await case.record(
                "work_order_cancelled",
                key=f"wo:{ref.work_order_id}:cancelled",
                body=reason,
                public=False,
                data={
                    "work_order_id": ref.work_order_id,
                    "number": ref.number,
                    "state": WorkOrderState.CANCELLED,
                    "technician_id": ref.technician_id,
                    "by": "case",
                },
                now=workflow.now(),
            )

    # ----- ITSM incidents ---------------------------------------------------------------

    async def escalate(self, arg: EscalateItsmInput, *, key: str, actor: Actor) -> None:
        case, esc = self.case, arg.escalation or ItsmEscalation()
        opened = await calls.open_incident(
            OpenIncidentInput(case.case_id, f"{case.case_id}:{key}", esc)
        )
        ref = IncidentRef(
            opened.incident_id, opened.number, opened.adapter, auto_resolve=esc.auto_resolve
        )
        case.s.incidents.append(ref)
        await case.record(
            "escalate_itsm",
            key=key,
            actor=actor,
            body=opened.summary,
            public=False,
            data={
                "incident_id": opened.incident_id,
                "number": opened.number,
                "adapter": opened.adapter,
                "urgency": esc.urgency,
                "impact": esc.impact,
            },
            now=workflow.now(),
        )
        if opened.adapter == "webhook":
            # Delivered in the background (retried with backoff): the agent is not kept
            # waiting on someone else's server.
            case.in_flight.start(self._deliver(ref))

    async def _deliver(self, ref: IncidentRef) -> None:
        case = self.case
        try:
            got = await calls.deliver_incident(DeliverIncidentInput(ref.incident_id))
        except ActivityError as err:
            cause = calls.failure_text(err)
            async with case.lock:
                update = IncidentUpdate(
                    ref.incident_id, IncidentState.FAILED, comment=f"Delivery failed: {cause}"
                )
                await self.incident_changed(update, key=f"itsm:{ref.incident_id}:failed")
            return
        async with case.lock:
            ref.external_id = got.external_id
            await case.record(
                "itsm_linked",
                key=f"itsm:{ref.incident_id}:linked",
                public=False,
                data={
                    "incident_id": ref.incident_id,
                    "number": ref.number,
                    "external_id": got.external_id,
                },
                now=workflow.now(),
            )

    def incident(self, incident_id: str) -> IncidentRef | None:
        return next((i for i in self.case.s.incidents if i.incident_id == incident_id), None)

    def check_incident(self, u: IncidentUpdate) -> None:
        """Refuse what the ITSM may not say, or what would break a rule of the case."""
        ref = self.incident(u.incident_id)
        if ref is None:
            raise ApplicationError("the incident is not linked to this case", type=INVALID)
        if u.status not in INCIDENT_REPORTABLE:
            raise ApplicationError(f"unknown incident status {u.status!r}", type=INVALID)
        if ref.state in INCIDENT_OVER:
            raise ApplicationError(f"incident {ref.number} is {ref.state}", type=NOT_ALLOWED)
        reopening = u.status in INCIDENT_OPEN and ref.state not in INCIDENT_OPEN
        others = [i for i in self.case.s.incidents if i is not ref and i.state in INCIDENT_OPEN]
        if reopening and others:
            raise ApplicationError(
                f"incident {ref.number} cannot reopen while {others[0].number} is open",
                type=NOT_ALLOWED,
            )

    async def incident_changed(self, u: IncidentUpdate, *, key: str) -> None:
        case, ref = self.case, cast(IncidentRef, self.incident(u.incident_id))  # checked
        before = ref.state
        await calls.update_incident(u)
        ref.state = u.status
        ref.external_id = u.external_id or ref.external_id
        data = {
            "incident_id": ref.incident_id,
            "number": ref.number,
            "external_id": ref.external_id,
            "status": u.status,
            "previous": before,
            "comment": u.comment,
            "resolution": u.resolution,
        }
        resolved = u.status == IncidentState.RESOLVED and before != IncidentState.RESOLVED
        notify = []
        if resolved or u.status == IncidentState.FAILED:
            notify = [Notify("incident_update", "agent", data=data)]
        await case.record(
            f"incident_{u.status}" if u.status != before else "incident_comment",
            key=key,
            actor=(u.actor_role, u.actor_id),
            body=u.resolution if resolved and u.resolution else u.comment,
            public=False,
            data=data,
            notify=notify,
            now=workflow.now(),
        )
        if resolved and ref.auto_resolve and case.s.state in ACTIVE:
            resolution = u.resolution or f"Resolved by incident {ref.number}."
            await case.resolve_by_system(resolution, f"incident-{ref.incident_id}")
