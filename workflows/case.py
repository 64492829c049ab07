"""CaseWorkflow: one durable program per customer case, from intake to close."""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

from workflows import calls, lifecycle, routing, sla
from workflows.alarm import QUIET_TIMER, Alarm
from workflows.background import InFlight
from workflows.lifecycle import ACTIVE, CLOSED, OPEN, RESOLVED, TERMINAL
from workflows.policy import POLICY_SIGNAL
from workflows.types import (
    ActionInput,
    ActionResult,
    AssignedSignal,
    CancelWorkOrder,
    CaseProjection,
    CreateWorkOrderInput,
    DeliverIncidentInput,
    DispatchInput,
    FieldServiceRequest,
    IncidentUpdate,
    IncidentUpdateResult,
    IntakeInput,
    IntakeResult,
    ItsmEscalation,
    Notify,
    OpenIncidentInput,
    PolicyChanged,
    RecordInput,
    SlaLookup,
    WorkOrderChanged,
    WorkOrderInput,
)
from workflows.work_order import CANCEL_SIGNAL, WORK_ORDER_SIGNAL, WorkOrderWorkflow
from workflows.work_order import DONE as WORK_ORDER_DONE

# Patches: each marks a change to running cases (see tests/replay/README.md).
PRIORITY_SWAPS_SLAS = "sla-priority-swap"
BREACH_ESCALATES = "sla-breach-escalation"
# Work orders spawned by a category rule at intake; open work orders cancelled when the case
# ends (the new actions, signal and update need no patch: old histories never hold them).
FIELD_SERVICE = "field-service-and-itsm"
# Intake and the first routing as one local activity and one transaction (open_case).
ONE_STEP_INTAKE = "one-step-intake"
# "outbox-relay": see workflows/background.py; "quiet-deadline-timer": workflows/alarm.py.

ACTION_NOT_ALLOWED = "ActionNotAllowed"
INVALID_ACTION = "InvalidAction"
LINKED_WORK = ("request-field-service", "escalate-itsm")
INCIDENT_STATES = ("new", "in_progress", "resolved", "closed")
INCIDENT_OVER = ("closed", "failed")
INCIDENT_OPEN = ("new", "in_progress")


@dataclass
class WorkOrderRef:
    work_order_id: str
    number: str
    workflow_id: str
    state: str = "new"
    technician_id: str | None = None
    auto_resolve: bool = False


@dataclass
class IncidentRef:
    incident_id: str
    number: str
    adapter: str
    state: str = "new"
    external_id: str | None = None
    auto_resolve: bool = False


@dataclass
class CaseState:
    """Everything the workflow knows; carried whole across continue-as-new."""

    state: str = lifecycle.NEW
    version: int = 0
    priority: int = 3
    queue: str = "support"
    assigned_agent_id: str | None = None
    entitlement_id: str | None = None
    reopen_window_seconds: int = 7 * 24 * 3600
    reopen_window_ends_at: str | None = None
    reopen_count: int = 0
    resolution: str | None = None
    resolved_at: str | None = None
    closed_at: str | None = None
    clocks: list[sla.SlaClock] = field(default_factory=list)
    assignments_seen: list[str] = field(default_factory=list)
    intake_done: bool = False
    sla_source: str = "entitlement"
    escalation_queue: str | None = None
    policy_inbox: list[PolicyChanged] = field(default_factory=list)
    work_orders: list[WorkOrderRef] = field(default_factory=list)
    incidents: list[IncidentRef] = field(default_factory=list)


@dataclass
class CaseInput:
    case_id: str
    number: str
    carried: CaseState | None = None
    # Continue-as-new past this many history events (0: when the server suggests it, well
    # before Temporal's hard limits). Tests set it low to cross the boundary quickly.
    history_limit: int = 0


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    def __init__(self) -> None:
        self.s = CaseState()
        self.case_id = ""
        self.lock = asyncio.Lock()
        self.in_flight = InFlight()  # steps started, not awaited
        self.alarm = Alarm()  # the next deadline's timer

    # ----- the life of a case -------------------------------------------------------------

    @workflow.run
    async def run(self, arg: CaseInput) -> str:
        self.case_id = arg.case_id
        if arg.carried is not None:
            self.s = arg.carried
        else:
            await self._intake()
        while self.s.state not in TERMINAL:
            if self._history_is_long(arg.history_limit):
                await self._settle()  # every accepted action finishes in this run
                workflow.continue_as_new(
                    CaseInput(arg.case_id, arg.number, self.s, arg.history_limit)
                )
            await self._wait_for_change_or_deadline()
        if self._open_work_orders() and workflow.patched(FIELD_SERVICE):
            await self._cancel_open_work_orders()
        await self._settle()
        return self.s.state

    @staticmethod
    def _history_is_long(limit: int) -> bool:
        info = workflow.info()
        if limit and info.get_current_history_length() > limit:
            return True
        return info.is_continue_as_new_suggested()

    async def _settle(self) -> None:
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self.in_flight.idle
        )

    async def _intake(self) -> None:
        if workflow.patched(ONE_STEP_INTAKE):
            opened = await calls.open_case(IntakeInput(self.case_id))
            got, routed = opened.intake, opened.routed
            self._take_intake(got)
            await routing.tell_assigned(routed, own_case_id=self.case_id)
        else:
            got = await calls.intake_case(IntakeInput(self.case_id))
            self._take_intake(got)
            routed = await routing.dispatch(
                DispatchInput.at_intake(self.case_id), own_case_id=self.case_id
            )
        self._take_own(routed)
        if got.field_service and workflow.patched(FIELD_SERVICE):
            async with self.lock:
                await self._request_field_service(
                    FieldServiceRequest(**got.field_service), key="rule:field-service"
                )

    def _take_intake(self, got: IntakeResult) -> None:
        s = self.s
        s.priority, s.queue = got.priority, got.queue
        s.entitlement_id = got.entitlement_id
        s.reopen_window_seconds = got.reopen_window_seconds
        s.sla_source, s.escalation_queue = got.sla_source, got.escalation_queue
        started = datetime.fromisoformat(got.created_at)
        s.clocks = [sla.SlaClock(spec) for spec in got.slas]
        for clock in s.clocks:
            sla.start(clock, started)
        s.state, s.version, s.intake_done = OPEN, 1, True
        self.in_flight.send(got.notification_ids)

    async def _wait_for_change_or_deadline(self) -> None:
        now = workflow.now()
        deadline = self._next_deadline(now)
        version = self.s.version
        if self.s.policy_inbox:
            await self._apply_policy_changes()
            return
        if deadline is not None and deadline[0] <= now:
            await self._fire(deadline[1])
            return
        if workflow.patched(QUIET_TIMER):
            await self._wait_with_alarm(deadline, version, now)
            return
        timeout = (deadline[0] - now).total_seconds() if deadline else None
        try:
            await workflow.wait_condition(
                lambda: self.s.version != version or bool(self.s.policy_inbox), timeout=timeout
            )
        except TimeoutError:
            await self._fire(deadline[1])

    async def _wait_with_alarm(self, deadline, version: int, now: datetime) -> None:
        """Wake for a change or the alarm (the loop then fires what is due); an action that
        leaves the deadline where it was keeps its timer."""
        alarm = self.alarm
        alarm.arm(deadline[0] if deadline else None, now)
        await workflow.wait_condition(
            lambda: self.s.version != version or bool(self.s.policy_inbox) or alarm.rang
        )

    def _next_deadline(self, now: datetime) -> tuple[datetime, tuple] | None:
        candidates: list[tuple[datetime, tuple]] = []
        if self.s.state == RESOLVED and self.s.reopen_window_ends_at:
            ends = datetime.fromisoformat(self.s.reopen_window_ends_at)
            candidates.append((ends, ("window",)))
        for i, clock in enumerate(self.s.clocks):
            nxt = sla.next_threshold(clock, now)
            if nxt:
                candidates.append((nxt[0], ("sla", i, nxt[1])))
        return min(candidates, key=lambda c: c[0]) if candidates else None

    async def _fire(self, what: tuple) -> None:
        async with self.lock:
            if what[0] == "window":
                if self.s.state == RESOLVED:
                    ends = datetime.fromisoformat(self.s.reopen_window_ends_at)
                    await self._close("lapsed", key=f"lapse:{self.s.reopen_count}", at=ends)
            else:
                await self._threshold(self.s.clocks[what[1]], what[2])

    async def _threshold(self, clock: sla.SlaClock, fraction: float) -> None:
        now = workflow.now()
        s = self.s
        what = f"{clock.spec.name} ({clock.spec.kind}) at {round(fraction * 100)}%"
        data = {"sla": clock.spec.name, "kind": clock.spec.kind, "fraction": fraction}
        requeued = False
        if fraction < sla.BREACH:
            clock.warned.append(fraction)
            kind = "sla_warning"
            notify = [Notify(kind, "agent", body=what)]
        else:
            clock.breached = True
            kind = "sla_breached"
            notify = [Notify(kind, "agent", body=what)]
            if workflow.patched(BREACH_ESCALATES):
                notify += [
                    Notify(kind, "supervisor", body=what),
                    Notify(kind, "account_manager", body=what),
                ]
                data["priority"] = {"from": s.priority, "to": max(1, s.priority - 1)}
                s.priority = max(1, s.priority - 1)
                if (
                    s.assigned_agent_id is None
                    and s.escalation_queue
                    and s.queue != s.escalation_queue
                ):
                    data["queue"] = {"from": s.queue, "to": s.escalation_queue}
                    s.queue, requeued = s.escalation_queue, True
        await self._record(
            kind,
            key=f"sla:{clock.spec.definition_id}:{fraction}",
            public=False,
            data=data,
            notify=notify,
            now=now,
        )
        if requeued:
            routed = await routing.dispatch(
                DispatchInput(f"{self.case_id}:escalate:{clock.spec.definition_id}"),
                own_case_id=self.case_id,
            )
            self._take_own(routed)

    @workflow.signal(name=POLICY_SIGNAL)
    def policy_changed(self, change: PolicyChanged) -> None:
        self.s.policy_inbox.append(change)

    async def _apply_policy_changes(self) -> None:
        async with self.lock:
            while self.s.policy_inbox:
                change = self.s.policy_inbox.pop(0)
                now = workflow.now()
                specs = {spec.definition_id: spec for spec in change.slas}
                touched = []
                for clock in self.s.clocks:
                    spec = specs.get(clock.spec.definition_id)
                    if spec is not None:
                        sla.retime(clock, spec, now)
                        sla.follow_state(clock, self.s.state, now)
                        touched.append(spec.name)
                if touched:
                    await self._record(
                        "sla_policy_changed",
                        key=f"policy:{change.change_id}",
                        public=False,
                        data={"slas": touched},
                        now=now,
                    )

    async def _close(self, reason: str, *, key: str, at: datetime) -> None:
        now = at  # the instant the window ended, not when the timer task ran
        self.s.state = CLOSED
        self.s.closed_at = now.isoformat()
        await self._record(
            "closed",
            key=key,
            data={"reason": reason},
            notify=[Notify("closed", "customer", reason=reason), Notify("csat_survey", "customer")],
            now=now,
        )

    # ----- agent and customer actions -----------------------------------------------------

    @workflow.update(name="act")
    async def act(self, a: ActionInput) -> ActionResult:
        await workflow.wait_condition(lambda: self.s.intake_done)
        async with self.lock:
            # Re-checked under the lock: two actions accepted together must not both apply.
            self._check(a)
            if a.action in LINKED_WORK:
                await self._linked_work(a, workflow.current_update_info().id)
            else:
                await self._apply(a, workflow.current_update_info().id)
            return ActionResult(self.s.state, self.s.version)

    @act.validator
    def _validate(self, a: ActionInput) -> None:
        self._check(a)

    def _check(self, a: ActionInput) -> None:
        why = lifecycle.refusal(a.action, self.s.state)
        if why:
            raise ApplicationError(why, type=ACTION_NOT_ALLOWED, non_retryable=True)
        if a.action == "assign" and not a.agent_id:
            raise ApplicationError("agent_id is required", type=INVALID_ACTION)
        if a.action == "change-priority" and a.priority not in (1, 2, 3, 4):
            raise ApplicationError("priority must be 1..4", type=INVALID_ACTION)
        if a.action in ("respond", "note", "await-info", "customer-reply") and not a.body:
            raise ApplicationError("body is required", type=INVALID_ACTION)
        if a.action == "assign" and a.agent_id == self.s.assigned_agent_id:
            raise ApplicationError("already assigned to that agent", type=ACTION_NOT_ALLOWED)
        if a.action == "request-field-service" and a.field_service is not None:
            req = a.field_service
            if (
                req.window_start
                and req.window_end
                and (
                    datetime.fromisoformat(req.window_end)
                    <= datetime.fromisoformat(req.window_start)
                )
            ):
                raise ApplicationError("window_end must be after window_start", type=INVALID_ACTION)
        if a.action == "escalate-itsm":
            open_ = [i for i in self.s.incidents if i.state in INCIDENT_OPEN]
            if open_:
                raise ApplicationError(
                    f"the case already has an open incident ({open_[0].number})",
                    type=ACTION_NOT_ALLOWED,
                )

    async def _apply(self, a: ActionInput, update_id: str) -> None:
        s, now = self.s, workflow.now()
        key = f"{a.action}:{update_id}"
        before, previous_agent = s.state, s.assigned_agent_id
        s.state = lifecycle.next_state(a.action, before)
        reopened = lifecycle.is_reopen(a.action, before)
        public, notify, data, set_assignee = True, [], {}, False
        body = a.body
        match a.action:
            case "assign":
                s.assigned_agent_id, set_assignee = a.agent_id, True
                public = False
                notify = [Notify("assignment", "agent")]
                data = {"agent_id": a.agent_id, "previous_agent_id": previous_agent}
            case "respond":
                for clock in s.clocks:
                    if clock.spec.kind == "response":
                        sla.stop(clock, now)
                notify = [Notify("reply", "customer", body=body)]
            case "note":
                public = False
            case "await-info":
                notify = [Notify("question", "customer", body=body)]
            case "change-priority":
                data = {"from": s.priority, "to": a.priority}
                s.priority = a.priority
                public = False
                if s.sla_source == "priority" and workflow.patched(PRIORITY_SWAPS_SLAS):
                    await self._swap_slas_for_priority(now, data)
            case "resolve":
                body = a.body or a.reason
                s.resolution, s.resolved_at = body, now.isoformat()
                ends = now + timedelta(seconds=s.reopen_window_seconds)
                s.reopen_window_ends_at = ends.isoformat()
                for clock in s.clocks:
                    if clock.spec.kind == "resolution":
                        sla.stop(clock, now)
                notify = [Notify("resolution_proposed", "customer", body=body)]
            case "accept":
                s.closed_at = now.isoformat()
                data = {"reason": "accepted"}
                notify = [
                    Notify("closed", "customer", reason="accepted"),
                    Notify("csat_survey", "customer"),
                ]
            case "reject":
                body = a.reason
            case "cancel":
                body = a.reason
                for clock in s.clocks:
                    sla.stop(clock, now)
                notify = [Notify("cancelled", "customer", reason=a.reason)]
        if reopened:
            s.reopen_count += 1
            s.reopen_window_ends_at, s.resolved_at, s.resolution = None, None, None
            for clock in s.clocks:
                if clock.spec.kind == "resolution":
                    sla.start(clock, now)  # resumes from its elapsed time
            data["reopened"] = True
        for clock in s.clocks:
            sla.follow_state(clock, s.state, now)
        await self._record(
            a.action.replace("-", "_"),
            key=key,
            actor=(a.actor_role, a.actor_id),
            body=body,
            public=public,
            data=data,
            notify=notify,
            now=now,
            set_assignee=set_assignee,
        )
        freed = (before in ACTIVE and s.state not in ACTIVE) or (
            set_assignee and previous_agent is not None
        )
        if reopened:
            routed = await routing.dispatch(
                DispatchInput(f"{self.case_id}:{key}", self.case_id, keep_agent_id=previous_agent),
                own_case_id=self.case_id,
            )
            self._take_own(routed)
        elif freed:
            await routing.dispatch(DispatchInput(f"{self.case_id}:{key}"))

    async def _swap_slas_for_priority(self, now: datetime, data: dict) -> None:
        """Take the new priority's default SLAs, carrying over the time already run."""
        found = await calls.default_slas(SlaLookup(self.s.priority))
        by_kind = {spec.kind: spec for spec in found.slas}
        swapped = []
        for i, clock in enumerate(self.s.clocks):
            spec = by_kind.get(clock.spec.kind)
            if spec is not None and spec.definition_id != clock.spec.definition_id:
                self.s.clocks[i] = sla.carry_over(clock, spec, now)
                swapped.append({"from": clock.spec.name, "to": spec.name})
        if swapped:
            data["slas"] = swapped

    @workflow.signal(name=routing.ASSIGNED_SIGNAL)
    def assigned(self, sig: AssignedSignal) -> None:
        if sig.assignment_id in self.s.assignments_seen or self.s.state not in ACTIVE:
            return
        self.s.assignments_seen.append(sig.assignment_id)
        self.s.assigned_agent_id = sig.agent_id
        self.s.version += 1
        if sig.notification_id:
            self.in_flight.send([sig.notification_id])

    def _take_own(self, routed) -> None:
        for made in routed.assignments:
            if made.case_id == self.case_id:
                self.assigned(
                    AssignedSignal(made.assignment_id, made.agent_id, made.notification_id)
                )
        if self.case_id in routed.unassigned:
            self.s.assigned_agent_id = None

    @workflow.query(name="state")
    def state(self) -> CaseState:
        return self.s

    # ----- linked work: field-service work orders and ITSM incidents ------------------------

    async def _linked_work(self, a: ActionInput, update_id: str) -> None:
        key = f"{a.action}:{update_id}"
        actor = (a.actor_role, a.actor_id)
        self.s.state = lifecycle.next_state(a.action, self.s.state)
        if a.action == "request-field-service":
            await self._request_field_service(
                a.field_service or FieldServiceRequest(), key=key, actor=actor
            )
        else:
            await self._escalate(a.itsm or ItsmEscalation(), key=key, actor=actor)

    async def _request_field_service(
        self,
        req: FieldServiceRequest,
        *,
        key: str,
        actor: tuple[str | None, str | None] = ("system", None),
    ) -> None:
        """Create the work order (pre-filled from the case) and start its child workflow."""
        created = await calls.create_work_order(
            CreateWorkOrderInput(self.case_id, f"{self.case_id}:{key}", req, *actor)
        )
        await workflow.start_child_workflow(
            WorkOrderWorkflow.run,
            WorkOrderInput(
                created.work_order_id,
                created.number,
                self.case_id,
                workflow.info().workflow_id,
            ),
            id=created.workflow_id,
            # Its own life: a continue-as-new of the case must not end the visit. The case
            # cancels open work orders itself when it ends.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        self.s.work_orders.append(
            WorkOrderRef(
                created.work_order_id,
                created.number,
                created.workflow_id,
                auto_resolve=req.auto_resolve,
            )
        )
        await self._record(
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

    @workflow.signal(name=WORK_ORDER_SIGNAL)
    async def work_order_changed(self, change: WorkOrderChanged) -> None:
        async with self.lock:
            await self._on_work_order(change)

    async def _on_work_order(self, u: WorkOrderChanged) -> None:
        ref = next((w for w in self.s.work_orders if w.work_order_id == u.work_order_id), None)
        if ref is None or ref.state in WORK_ORDER_DONE or ref.state == u.state:
            return  # not ours, already over, or told twice
        ref.state = u.state
        ref.technician_id = u.technician_id or ref.technician_id
        data = {
            "work_order_id": u.work_order_id,
            "number": u.number,
            "state": u.state,
            "technician_id": u.technician_id,
            "technician": u.technician_name,
        }
        body, notify = None, []
        match u.state:
            case "waiting":
                body = u.reason
            case "dispatched":
                body = f"Technician {u.technician_name or u.technician_id} dispatched."
            case "completed":
                body = u.notes
                data |= {"fixed": u.fixed, "parts_used": u.parts_used}
                outcome = "fixed" if u.fixed else "not fixed"
                summary = f"Work order {u.number} completed ({outcome})."
                text = f"{summary}\n\n{u.notes}" if u.notes else summary
                notify = [Notify("work_order_completed", "agent", body=text)]
            case "cancelled":
                body = u.reason
                text = f"Work order {u.number} was cancelled."
                notify = [Notify("work_order_cancelled", "agent", body=text, reason=u.reason)]
        await self._record(
            f"work_order_{u.state}",
            key=f"wo:{u.work_order_id}:{u.state}",
            actor=(u.actor_role, u.actor_id),
            body=body,
            public=False,
            data=data,
            notify=notify,
            now=workflow.now(),
        )
        if u.state == "completed" and u.fixed and ref.auto_resolve and self.s.state in ACTIVE:
            resolution = f"Resolved by work order {u.number}" + (f": {u.notes}" if u.notes else ".")
            await self._apply(
                ActionInput("resolve", actor_role="system", body=resolution),
                f"wo-{u.work_order_id}",
            )

    def _open_work_orders(self) -> list[WorkOrderRef]:
        return [w for w in self.s.work_orders if w.state not in WORK_ORDER_DONE]

    async def _cancel_open_work_orders(self) -> None:
        """Compensation: the case is over, so are its visits; each tells its technician."""
        async with self.lock:
            reason = f"The case was {self.s.state}."
            for ref in self._open_work_orders():
                try:
                    await workflow.get_external_workflow_handle(ref.workflow_id).signal(
                        CANCEL_SIGNAL, CancelWorkOrder(reason)
                    )
                except Exception as err:  # it ended meanwhile
                    workflow.logger.info("work order %s not cancelled: %s", ref.number, err)
                ref.state = "cancelled"
                await self._record(
                    "work_order_cancelled",
                    key=f"wo:{ref.work_order_id}:cancelled",
                    body=reason,
                    public=False,
                    data={
                        "work_order_id": ref.work_order_id,
                        "number": ref.number,
                        "state": "cancelled",
                        "technician_id": ref.technician_id,
                        "by": "case",
                    },
                    now=workflow.now(),
                )

    async def _escalate(
        self, esc: ItsmEscalation, *, key: str, actor: tuple[str | None, str | None]
    ) -> None:
        opened = await calls.open_incident(
            OpenIncidentInput(self.case_id, f"{self.case_id}:{key}", esc)
        )
        ref = IncidentRef(
            opened.incident_id, opened.number, opened.adapter, auto_resolve=esc.auto_resolve
        )
        self.s.incidents.append(ref)
        await self._record(
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
            self.in_flight.start(self._deliver(ref))

    async def _deliver(self, ref: IncidentRef) -> None:
        try:
            got = await calls.deliver_incident(DeliverIncidentInput(ref.incident_id))
        except ActivityError as err:
            cause = err.cause.message if isinstance(err.cause, ApplicationError) else err
            async with self.lock:
                update = IncidentUpdate(
                    ref.incident_id, "failed", comment=f"Delivery failed: {cause}"
                )
                await self._incident_changed(ref, update, key=f"itsm:{ref.incident_id}:failed")
            return
        async with self.lock:
            ref.external_id = got.external_id
            await self._record(
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

    @workflow.update(name="incident_update")
    async def incident_update(self, u: IncidentUpdate) -> IncidentUpdateResult:
        async with self.lock:
            self._check_incident(u)
            ref = self._incident(u.incident_id)
            key = f"itsm:{u.incident_id}:{workflow.current_update_info().id}"
            await self._incident_changed(ref, u, key=key)
            return IncidentUpdateResult(ref.state, self.s.state)

    @incident_update.validator
    def _validate_incident(self, u: IncidentUpdate) -> None:
        self._check_incident(u)

    def _incident(self, incident_id: str) -> IncidentRef | None:
        return next((i for i in self.s.incidents if i.incident_id == incident_id), None)

    def _check_incident(self, u: IncidentUpdate) -> None:
        ref = self._incident(u.incident_id)
        if ref is None:
            raise ApplicationError("the incident is not linked to this case", type=INVALID_ACTION)
        if u.status not in INCIDENT_STATES:
            raise ApplicationError(f"unknown incident status {u.status!r}", type=INVALID_ACTION)
        if ref.state in INCIDENT_OVER:
            raise ApplicationError(f"incident {ref.number} is {ref.state}", type=ACTION_NOT_ALLOWED)

    async def _incident_changed(self, ref: IncidentRef, u: IncidentUpdate, *, key: str) -> None:
        before = ref.state
        ref.state = u.status
        ref.external_id = u.external_id or ref.external_id
        await calls.update_incident(u)
        notify = []
        if u.status == "resolved" and before != "resolved":
            text = f"Incident {ref.number} was resolved."
            if u.resolution:
                text += f"\n\n{u.resolution}"
            notify = [Notify("incident_update", "agent", body=text)]
        elif u.status == "failed":
            notify = [Notify("incident_update", "agent", body=u.comment)]
        await self._record(
            f"incident_{u.status}" if u.status != before else "incident_comment",
            key=key,
            actor=(u.actor_role, u.actor_id),
            body=u.resolution if u.status == "resolved" and u.resolution else u.comment,
            public=False,
            data={
                "incident_id": ref.incident_id,
                "number": ref.number,
                "external_id": ref.external_id,
                "status": u.status,
                "previous": before,
                "comment": u.comment,
            },
            notify=notify,
            now=workflow.now(),
        )
        if (
            u.status == "resolved"
            and before != "resolved"
            and ref.auto_resolve
            and self.s.state in ACTIVE
        ):
            resolution = u.resolution or f"Resolved by incident {ref.number}."
            await self._apply(
                ActionInput("resolve", actor_role="system", body=resolution),
                f"incident-{ref.incident_id}",
            )

    # ----- persistence and notifications --------------------------------------------------

    async def _record(
        self,
        kind: str,
        *,
        key: str,
        now: datetime,
        actor: tuple[str | None, str | None] = (None, None),
        body: str | None = None,
        public: bool = True,
        data: dict | None = None,
        notify: list[Notify] | None = None,
        set_assignee: bool = False,
    ) -> None:
        self.s.version += 1
        recorded = await calls.record_case_event(
            RecordInput(
                case_id=self.case_id,
                key=key,
                kind=kind,
                at=now.isoformat(),
                actor_role=actor[0],
                actor_id=actor[1],
                body=body,
                public=public,
                data=data or {},
                projection=self._projection(now, set_assignee),
                notify=notify or [],
            )
        )
        self.in_flight.send(recorded.notification_ids)

    def _projection(self, now: datetime, set_assignee: bool) -> CaseProjection:
        s = self.s
        views = [sla.view(clock, now) for clock in s.clocks]
        dues = [datetime.fromisoformat(v["due_at"]) for v in views if v["due_at"]]
        return CaseProjection(
            version=s.version,
            state=s.state,
            priority=s.priority,
            assigned_agent_id=s.assigned_agent_id,
            set_assignee=set_assignee,
            reopen_count=s.reopen_count,
            reopen_window_ends_at=s.reopen_window_ends_at,
            resolved_at=s.resolved_at,
            closed_at=s.closed_at,
            resolution=s.resolution,
            sla=views,
            next_due_at=min(dues).isoformat() if dues else None,
            breached=any(c.breached for c in s.clocks),
            queue=s.queue,
        )
