"""CaseWorkflow: one durable program per customer case, from intake to close.

The run loop reads like the lifecycle (workflows/lifecycle.py): intake, then wait for an
action or the next deadline until the case is closed or cancelled. Pure rules decide
(lifecycle, sla, deadlines); this class orchestrates: it takes the lock, asks the rules,
records what they decided (one local activity: timeline, case row, outbox) and routes.
Each action is its own update, named as in the action table (workflows/actions.py).
"""

import asyncio
import copy
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, cast

from temporalio import workflow
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from workflows import calls, lifecycle, routing, search, sla
from workflows.actions import (
    Action,
    ActionInput,
    ActionResult,
    EscalateItsmInput,
    RequestFieldServiceInput,
    ResolveInput,
)
from workflows.alarm import Alarm
from workflows.background import InFlight
from workflows.case_actions import CaseActions
from workflows.case_data import CaseData, CaseInput, IncidentRef
from workflows.customer_merge import CUSTOMER_MERGED_SIGNAL, CustomerMerged, follow
from workflows.deadlines import Deadline, DeadlineKind, next_deadline
from workflows.fan_out import MajorCaseFanOutWorkflow
from workflows.fan_out_types import FanOutInput, MajorStepResult
from workflows.linked_work import LinkedWork
from workflows.policy import POLICY_SIGNAL
from workflows.projection import projection
from workflows.types import (
    AssignedSignal,
    DispatchInput,
    DispatchResult,
    FieldServiceRequest,
    IncidentUpdate,
    IncidentUpdateResult,
    IntakeInput,
    IntakeResult,
    Notify,
    Opened,
    PolicyChanged,
    RecordInput,
    RecordResult,
    SlaLookup,
    WhenOpened,
    WorkOrderChanged,
)
from workflows.vocabulary import ACTIVE, INVALID, STEP_FAILED, TERMINAL, CaseState, FanOutKind
from workflows.work_order import WORK_ORDER_SIGNAL

# 0.2.0: a major case resolved by anything (not only the API's resolve) resolves its
# children from the workflow itself (workflows/patches.py).
MAJOR_RESOLVE_FANS_OUT = "major-resolve-fans-out"
NOT_OPENED = "not_opened"  # the run's result when intake failed for good: no case row exists


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow(CaseActions):
    def __init__(self) -> None:
        self.s = CaseData()
        self.case_id = ""
        self.lock = asyncio.Lock()  # one change at a time: actions, signals, deadlines
        self.in_flight = InFlight()  # steps started, not awaited (ITSM delivery)
        self.alarm = Alarm()  # the next deadline's timer
        self.linked = LinkedWork(self)
        self.published: dict[str, object] = {}  # the search attributes as last upserted
        self.not_opened: str | None = None  # why intake failed for good, if it did

    # ----- the life of a case -----------------------------------------------------------

    @workflow.run
    async def run(self, arg: CaseInput) -> str:
        self.case_id = arg.case_id
        if arg.carried is not None:
            self.s = arg.carried
        else:
            try:
                await self._intake(arg)
            except calls.STEP_FAILURES as err:  # e.g. a product deleted since the API checked
                self.not_opened = calls.failure_text(err)
                await self._settle()  # the `opened` update answers why
                return NOT_OPENED
        while self.s.state not in TERMINAL:
            if self._history_is_long(arg.history_limit):
                await self._settle()  # every accepted action finishes in this run
                workflow.continue_as_new(
                    CaseInput(
                        arg.case_id, arg.number, carried=self.s, history_limit=arg.history_limit
                    )
                )
            await self._wait_for_change_or_deadline()
        if self.linked.open_work_orders():
            async with self.lock:
                await self.linked.cancel_open_work_orders()
        await self._settle()
        return self.s.state

    async def _intake(self, arg: CaseInput) -> None:
        """Intake and the first routing: one local activity, one transaction (or, for a
        case opened in bulk, what that bulk transaction made: `CaseInput.opened`)."""
        opened = arg.opened or await calls.open_case(IntakeInput(self.case_id, arg.number, arg.new))
        self._take_intake(opened.intake)
        await routing.tell_assigned(opened.routed, own_case_id=self.case_id)
        self._take_own(opened.routed)
        self._publish()
        if opened.intake.field_service:  # a category rule asks for a visit
            async with self.lock:
                request = FieldServiceRequest(**opened.intake.field_service)
                # The case is open by now: a failed visit request is recorded, not fatal.
                step = self.linked.request_field_service(request, key="rule:field-service")
                await self._guarded("field service", step)

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
        s.account_id = got.account_id
        s.contact_id = got.contact_id  # state only: no command changes
        s.state, s.version, s.intake_done = CaseState.OPEN, 1, True

    async def _wait_for_change_or_deadline(self) -> None:
        """Wake for a change or the alarm; an action that leaves the deadline where it was
        keeps its timer (workflows/alarm.py)."""
        now, version = workflow.now(), self.s.version
        if self.s.policy_inbox:
            await self._guarded("policy change", self._apply_policy_changes())
            return
        deadline = next_deadline(self.s, now)
        if deadline is not None and deadline.at <= now:
            await self._guarded(deadline.kind, self._fire(deadline))
            return
        self.alarm.arm(deadline.at if deadline else None, now)
        await workflow.wait_condition(
            lambda: self.s.version != version or bool(self.s.policy_inbox) or self.alarm.rang
        )

    async def _fire(self, deadline: Deadline) -> None:
        async with self.lock:
            if deadline.kind == DeadlineKind.REOPEN_WINDOW:
                if self.s.state == CaseState.RESOLVED:  # not reopened meanwhile
                    await self._lapse(deadline.at)
            else:
                clock = next(
                    c for c in self.s.clocks if c.spec.definition_id == deadline.definition_id
                )
                await self._threshold(clock, cast(float, deadline.fraction))

    async def _lapse(self, at: datetime) -> None:
        fx = lifecycle.lapse(self.s, at)
        key = f"lapse:{self.s.reopen_count}"
        lifecycle.apply(self.s, fx, at)  # at the instant the window ended, not the timer's
        await self.record(fx.event, key=key, data=fx.data, notify=fx.notify, now=at)

    async def _threshold(self, clock: sla.SlaClock, fraction: float) -> None:
        s, now = self.s, workflow.now()
        t = sla.on_threshold(
            clock,
            fraction,
            priority=s.priority,
            queue=s.queue,
            assigned=s.assigned_agent_id is not None,
            escalation_queue=s.escalation_queue,
        )
        s.priority, s.queue = t.priority, t.queue or s.queue
        key = f"sla:{clock.spec.definition_id}:{fraction}"
        await self.record(t.event, key=key, public=False, data=t.data, notify=t.notify, now=now)
        if t.queue:
            escalated = f"{self.case_id}:escalate:{clock.spec.definition_id}"
            self._take_own(
                await routing.dispatch(DispatchInput(escalated), own_case_id=self.case_id)
            )

    @workflow.signal(name=POLICY_SIGNAL)
    def policy_changed(self, change: PolicyChanged) -> None:
        self.s.policy_inbox.append(change)

    async def _apply_policy_changes(self) -> None:
        """Re-time the clocks that use an edited SLA definition, from their own history."""
        async with self.lock:
            while self.s.policy_inbox:
                change, now = self.s.policy_inbox.pop(0), workflow.now()
                touched = sla.retime_all(self.s.clocks, change.slas, self.s.state, now)
                if touched:
                    key = f"policy:{change.change_id}"
                    data = {"slas": touched}
                    await self.record(
                        "sla_policy_changed", key=key, public=False, data=data, now=now
                    )

    # ----- agent and customer actions (the updates are in workflows/case_actions.py) ----

    async def _act(self, action: Action, arg: ActionInput) -> ActionResult:
        await workflow.wait_condition(lambda: self.s.intake_done)
        async with self.lock:
            self._refuse(action, arg)  # again under the lock: two accepted together
            key = f"{action}:{cast(workflow.UpdateInfo, workflow.current_update_info()).id}"
            before = copy.deepcopy(self.s)
            try:
                await self._change(action, arg, key)
            except calls.STEP_FAILURES as err:
                before.version = self.s.version  # the row never goes back a version
                self.s = before  # a failed action changes nothing
                await self._failed(action, err, refuse=True)
            return ActionResult(self.s.state, self.s.version)

    async def _change(self, action: Action, arg: ActionInput, key: str) -> None:
        actor = (arg.actor_role, arg.actor_id)
        if action == Action.REQUEST_FIELD_SERVICE:
            self.s.state = lifecycle.next_state(action, self.s.state)
            request = cast(RequestFieldServiceInput, arg).request
            await self.linked.request_field_service(request, key=key, actor=actor)
            return
        if action == Action.ESCALATE_ITSM:
            self.s.state = lifecycle.next_state(action, self.s.state)
            await self.linked.escalate(cast(EscalateItsmInput, arg), key=key, actor=actor)
            return
        now, previous_agent = workflow.now(), self.s.assigned_agent_id
        fx = lifecycle.decide(self.s, action, arg, now)
        lifecycle.apply(self.s, fx, now)
        if fx.swap_slas:
            await self._swap_slas_for_priority(now, fx.data)
        recorded = await self.record(
            fx.event,
            key=key,
            actor=actor,
            body=fx.body,
            public=fx.public,
            data=fx.data,
            notify=fx.notify,
            now=now,
            set_assignee=fx.set_assignee,
        )
        await self._route(fx.routing, key, previous_agent)
        if recorded.major and workflow.patched(MAJOR_RESOLVE_FANS_OUT):
            await self._resolve_children(recorded.event_ref)

    async def _resolve_children(self, event_ref: str | None) -> None:
        """A major case resolved, by whomever (an agent, an event's clear, its own work order
        or incident): every child still new, open or awaiting_info is resolved with its
        resolution by a fan-out of its own (workflows/fan_out.py), started as a child workflow
        that outlives this run if it must; each child's reopen window then runs on its own."""
        fan_out_id = f"major-{self.case_id}-resolved-{self.s.version}"
        arg = FanOutInput(
            kind=FanOutKind.RESOLVE,
            major_case_id=self.case_id,
            major_number=workflow.info().workflow_id.removeprefix("case-"),
            fan_out_id=fan_out_id,
            event_ref=event_ref,
            text=self.s.resolution,
            step=MajorStepResult(True, state=self.s.state),  # this case's own step is done
        )
        try:
            await workflow.start_child_workflow(
                MajorCaseFanOutWorkflow.run,
                arg,
                id=fan_out_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:  # started already (the id is this resolution's)
            pass

    async def resolve_by_system(self, resolution: str, key: str) -> None:
        """Linked work resolved the case (a fixed work order, a resolved incident)."""
        await self._change(Action.RESOLVE, ResolveInput(resolution=resolution), f"resolve:{key}")

    async def _route(self, need: lifecycle.Routing, key: str, previous_agent: str | None) -> None:
        if need == lifecycle.Routing.REQUEUE:
            arg = DispatchInput(f"{self.case_id}:{key}", self.case_id, keep_agent_id=previous_agent)
            self._take_own(await routing.dispatch(arg, own_case_id=self.case_id))
        elif need == lifecycle.Routing.FREED:
            await routing.dispatch(DispatchInput(f"{self.case_id}:{key}"))

    async def _swap_slas_for_priority(self, now: datetime, data: dict[str, Any]) -> None:
        """Take the new priority's default SLAs, carrying over the time already run."""
        found = await calls.default_slas(SlaLookup(self.s.priority))
        if swapped := sla.swap(self.s.clocks, found.slas, now):
            data["slas"] = swapped

    async def _guarded(self, what: str, step: Awaitable[object]) -> None:
        """Run a step of the case's own (a deadline, a signal's work); if it fails for good
        (retries spent, or a deterministic error), the case lives on."""
        try:
            await step
        except calls.STEP_FAILURES as err:
            await self._failed(what, err)

    async def _failed(self, what: str, err: Exception, *, refuse: bool = False) -> None:
        """Record the failure and tell a supervisor; with `refuse`, fail the update too."""
        cause = calls.failure_text(err)
        workflow.logger.warning("case %s: %s failed: %s", self.case_id, what, cause)
        await self._step_failed(what, cause)
        if refuse:
            raise ApplicationError(
                f"{what} failed: {cause}", type=STEP_FAILED, non_retryable=True
            ) from err

    async def _step_failed(self, what: str, cause: str) -> None:
        data = {"step": str(what), "error": cause}
        try:
            await self.record(
                "step_failed",
                key=f"failed:{self.s.version}:{what}",
                public=False,
                data=data,
                notify=[Notify("step_failed", "supervisor", data=data)],
                now=workflow.now(),
            )
        except calls.STEP_FAILURES as err:  # the database itself is gone: the log keeps it
            workflow.logger.error("case %s: could not record the failure: %s", self.case_id, err)

    # ----- signals from routing and linked work, the ITSM's update, the query -----------

    @workflow.signal(name=routing.ASSIGNED_SIGNAL)
    def assigned(self, sig: AssignedSignal) -> None:
        if sig.assignment_id in self.s.assignments_seen or self.s.state not in ACTIVE:
            return
        self.s.assignments_seen.append(sig.assignment_id)
        self.s.assigned_agent_id = sig.agent_id
        self.s.version += 1
        self._publish()

    def _take_own(self, routed: DispatchResult) -> None:
        for made in routed.assignments:
            if made.case_id == self.case_id:
                self.assigned(AssignedSignal(made.assignment_id, made.agent_id))
        if self.case_id in routed.unassigned:
            self.s.assigned_agent_id = None

    @workflow.signal(name=WORK_ORDER_SIGNAL)
    async def work_order_changed(self, change: WorkOrderChanged) -> None:
        async with self.lock:
            await self._guarded("work order", self.linked.work_order_changed(change))

    @workflow.signal(name=CUSTOMER_MERGED_SIGNAL)
    async def customer_merged(self, sig: CustomerMerged) -> None:
        """The case's account or contact was merged: the merge step has moved its row, this
        moves what the workflow knows (the query, the AccountId search attribute)."""
        await workflow.wait_condition(lambda: self.s.intake_done or self.not_opened is not None)
        if follow(self.s, sig):
            self._publish()

    @workflow.update(name="incident_update")
    async def incident_update(self, u: IncidentUpdate) -> IncidentUpdateResult:
        async with self.lock:
            self.linked.check_incident(u)
            update = cast(workflow.UpdateInfo, workflow.current_update_info())
            key = f"itsm:{u.incident_id}:{update.id}"
            try:
                await self.linked.incident_changed(u, key=key)
            except calls.STEP_FAILURES as err:
                await self._failed("incident update", err, refuse=True)
            ref = cast(IncidentRef, self.linked.incident(u.incident_id))  # checked
            return IncidentUpdateResult(ref.state, self.s.state)

    @incident_update.validator
    def _incident_update_ok(self, u: IncidentUpdate) -> None:
        self.linked.check_incident(u)

    @workflow.update(name="opened")
    async def opened(self, arg: WhenOpened) -> Opened:
        """What intake made: POST /cases starts the workflow with this update (update-with-
        start), so it answers with the case as intake left it, in one round trip."""
        await workflow.wait_condition(lambda: self.s.intake_done or self.not_opened is not None)
        if self.not_opened is not None:
            why = f"the case could not be opened: {self.not_opened}"
            raise ApplicationError(why, type=INVALID, non_retryable=True)
        s = self.s
        return Opened(self.case_id, s.state, s.assigned_agent_id, s.queue)

    @workflow.query(name="state")
    def state(self) -> CaseData:
        return self.s

    # ----- persistence: the timeline, the case row and the outbox in one step -----------

    async def record(
        self,
        kind: str,
        *,
        key: str,
        now: datetime,
        actor: tuple[str | None, str | None] = (None, None),
        body: str | None = None,
        public: bool = True,
        data: dict[str, Any] | None = None,
        notify: list[Notify] | None = None,
        set_assignee: bool = False,
    ) -> RecordResult:
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
                projection=projection(self.s, now, set_assignee),
                notify=notify or [],
            )
        )
        self._publish()
        return recorded

    def _publish(self) -> None:
        """Keep the case's search attributes current (only those that changed)."""
        now = search.values(self.s, workflow.now())
        if updates := search.changes(self.published, now):
            workflow.upsert_search_attributes(updates)
            self.published = now

    # ----- helpers ----------------------------------------------------------------------

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


__all__ = ["CaseInput", "CaseWorkflow"]
