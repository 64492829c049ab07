"""Record one complete CaseWorkflow history per lifecycle path, for the replay tests.

Run `.venv/bin/python -m tests.replay.record` (see README.md): it starts its own embedded
PostgreSQL and time-skipping Temporal server, drives every path below with a real worker and
writes each finished workflow's history to `tests/replay/histories/<name>.json`.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from api.services.intake import open_case
from models import metadata
from models.cases import Case
from models.customers import Asset, Contact
from models.people import Agent, Queue
from models.service import Schedule as ScheduleRow
from models.service import SlaDefinition
from tests import factories as f
from tests.conftest import make_deps, running_worker, time_skipping
from tests.workflows.field_helpers import technician, wait_work_order, wo_act
from tests.workflows.helpers import act, described, open_for, wait_row
from workflows.case import CaseWorkflow
from workflows.customer_merge import MergeInput
from workflows.fan_out import MajorCaseFanOutWorkflow
from workflows.fan_out_types import FanOutInput
from workflows.housekeeping import HousekeepingWorkflow
from workflows.housekeeping_types import PurgeInput
from workflows.merge import CustomerMergeWorkflow
from workflows.policy import PolicyChangeWorkflow
from workflows.routing import DispatchWorkflow
from workflows.scheduled import MaintenanceRunWorkflow
from workflows.scheduled_types import ScheduledRunInput
from workflows.types import (
    DispatchInput,
    FieldServiceRequest,
    IncidentUpdate,
    ItsmEscalation,
    PolicyChangeInput,
)
from workflows.vocabulary import INVALID as INVALID_ACTION
from workflows.vocabulary import NOT_ALLOWED as ACTION_NOT_ALLOWED
from workflows.vocabulary import FanOutKind

HISTORIES = Path(__file__).parent / "histories"
TEST_SERVER = Path(sys.prefix) / "bin" / "temporal-test-server"


@dataclass
class World:
    """One path's fresh data and worker: a customer, agents, and the queue to start cases on."""

    sessions: async_sessionmaker[AsyncSession]
    env: WorkflowEnvironment
    tq: str
    customer: Contact
    agent: Agent
    account_id: uuid.UUID

    @property
    def client(self) -> Client:
        return self.env.client

    async def open_case(self, *, assigned: bool = True) -> Case:
        case = await open_for(self.sessions, self.client, self.tq, self.customer)
        if assigned:
            await wait_row(self.sessions, case.id, lambda c: c.assigned_agent_id)
            await self.told(case)
        return case

    async def told(self, case: Case) -> None:
        """Wait until the workflow itself knows its agent (the signal may trail the row)."""
        handle = self.client.get_workflow_handle(case.workflow_id)
        for _ in range(300):
            if (await handle.query(CaseWorkflow.state)).assigned_agent_id:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{case.workflow_id} was never told of its agent")

    async def finished(self, case_or_id: Case | str, expected: str) -> str:
        wf_id = case_or_id if isinstance(case_or_id, str) else case_or_id.workflow_id
        result = await self.client.get_workflow_handle(wf_id).result()
        if result != expected:
            raise AssertionError(f"{wf_id} ended {result!r}, expected {expected!r}")
        return wf_id


# Each path returns {history name: workflow id, or (workflow id, run id) for a run that
# continued as new} for the workflows it brought to completion.
Scenario = Callable[[World], Awaitable[dict[str, str | tuple[str, str]]]]
OFFICE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
DAILY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def accept(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "respond", body="Please restart the router.")
    await act(w.client, case, "resolve", body="Restarted; working again.")
    await act(w.client, case, "accept", role="contact")
    return {"accept": await w.finished(case, "closed")}


async def assign_partner(w: World) -> dict[str, str]:
    """The case goes to a partner account, whose user answers; then the usual close."""
    partner = await f.account(w.sessions, "FixIt", domains=())
    case = await w.open_case()
    await act(w.client, case, "assign-partner", partner_account_id=str(partner.id))
    await act(w.client, case, "respond", role="partner", body="A technician comes at 10.")
    await act(w.client, case, "resolve", body="Fixed on site.")
    await act(w.client, case, "accept", role="contact")
    return {"assign_partner": await w.finished(case, "closed")}


async def reject_reopen(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "resolve", body="Firmware updated.")
    await act(w.client, case, "reject", role="contact", reason="Still drops every hour.")
    await act(w.client, case, "resolve", body="Replaced the unit.")
    await act(w.client, case, "accept", role="contact")
    return {"reject_reopen": await w.finished(case, "closed")}


async def lapse(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "resolve", body="Fixed.")
    await w.env.sleep(timedelta(days=7, seconds=1))  # the reopen window lapses unanswered
    return {"lapse": await w.finished(case, "closed")}


async def cancel(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "cancel", reason="Duplicate of another case.")
    return {"cancel": await w.finished(case, "cancelled")}


async def await_info(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "await-info", body="Which firmware version?")
    await act(w.client, case, "customer-reply", role="contact", body="2.0.1")
    await act(w.client, case, "resolve", body="Upgrade to 2.1 fixes it.")
    await act(w.client, case, "accept", role="contact")
    return {"await_info": await w.finished(case, "closed")}


async def waiting_then_assigned(w: World) -> dict[str, str]:
    """Capacity 1: the second case waits, and is assigned by the first one's resolution."""
    first = await w.open_case()
    second = await w.open_case(assigned=False)
    await wait_row(w.sessions, second.id, lambda c: c.waiting_since is not None)
    await act(w.client, first, "resolve", body="Done.")
    await wait_row(w.sessions, second.id, lambda c: c.assigned_agent_id)
    await w.told(second)  # the `assigned` signal is in its history
    await act(w.client, first, "accept", role="contact")
    await act(w.client, second, "resolve", body="Done too.")
    await act(w.client, second, "accept", role="contact")
    return {
        "waiting_then_assigned": await w.finished(second, "closed"),
        # The freeing case's history holds the signal it sent to the waiting one.
        "waiting_then_assigned_freer": await w.finished(first, "closed"),
    }


async def refused_action(w: World) -> dict[str, str]:
    case = await w.open_case()
    for action, kw, refusal in (
        ("accept", {"role": "contact"}, ACTION_NOT_ALLOWED),  # not resolved yet
        ("respond", {}, INVALID_ACTION),  # no body
    ):
        try:
            await act(w.client, case, action, **kw)
        except WorkflowUpdateFailedError as err:
            if err.cause.type != refusal:
                raise
        else:
            raise AssertionError(f"{action} was not refused")
    await act(w.client, case, "respond", body="Looking into it.")
    await act(w.client, case, "resolve", body="Fixed.")
    await act(w.client, case, "accept", role="contact")
    return {"refused_action": await w.finished(case, "closed")}


async def dispatch(w: World) -> dict[str, str]:
    """An agent gains capacity: a DispatchWorkflow assigns the waiting case and tells it."""
    first = await w.open_case()
    second = await w.open_case(assigned=False)
    await wait_row(w.sessions, second.id, lambda c: c.waiting_since is not None)
    async with w.sessions() as db, db.begin():
        await db.execute(update(Agent).where(Agent.id == w.agent.id).values(capacity=2))
    handle = await w.client.start_workflow(
        DispatchWorkflow.run,
        DispatchInput(key=f"agent-available:{w.agent.id}:{uuid.uuid4()}"),
        id=f"dispatch-{uuid.uuid4()}",
        task_queue=w.tq,
    )
    # Not handle.result(): on the time-skipping server that lets time run on, and the open
    # cases' clocks with it, for as long as the dispatch waits on its signal's delivery.
    await w.told(second)
    for _ in range(300):
        if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
            break
        await asyncio.sleep(0.05)
    for case in (first, second):
        await act(w.client, case, "cancel", reason="Recorded.")
        await w.finished(case, "cancelled")
    return {"dispatch": handle.id}


async def work_order_fixed(w: World) -> dict[str, str]:
    """A work order (child workflow) is dispatched, completed as fixed, and its completion
    signal resolves the case; the customer accepts."""
    await technician(w.sessions, "Tess", skills=["fiber"], parts=["ONT-2"], territory=None)
    case = await w.open_case()
    request = FieldServiceRequest(skills=["fiber"], parts=["ONT-2"], auto_resolve=True)
    await act(w.client, case, "request-field-service", request=request)
    wo = await wait_work_order(w.sessions, case.id, lambda x: x.state == "dispatched")
    await wo_act(w.client, wo, "accept")
    await wo_act(w.client, wo, "start")
    await wo_act(w.client, wo, "complete", fixed=True, notes="Spliced.", parts_used=["ONT-2"])
    await wait_row(w.sessions, case.id, lambda c: c.state == "resolved")
    await act(w.client, case, "accept", role="contact")
    return {
        "work_order_fixed": await w.finished(case, "closed"),
        "work_order_visit": await w.finished(wo.workflow_id, "completed"),
    }


async def cancel_with_work_order(w: World) -> dict[str, str]:
    """The patched branch: cancelling the case cancels its open (waiting) work order."""
    case = await w.open_case()
    request = FieldServiceRequest(skills=["welding"])  # no technician has it: it waits
    await act(w.client, case, "request-field-service", request=request)
    wo = await wait_work_order(w.sessions, case.id, lambda x: x.state == "waiting")
    handle = w.client.get_workflow_handle(case.workflow_id)
    for _ in range(300):  # the case has heard that its work order waits
        if (await handle.query(CaseWorkflow.state)).work_orders[0].state == "waiting":
            break
        await asyncio.sleep(0.05)
    await act(w.client, case, "cancel", reason="Not needed any more.")
    await w.finished(wo.workflow_id, "cancelled")
    return {"cancel_with_work_order": await w.finished(case, "cancelled")}


async def itsm_incident(w: World) -> dict[str, str]:
    """A built-in incident is opened, moves on, and its resolution resolves the case."""
    case = await w.open_case()
    await act(
        w.client, case, "escalate-itsm", escalation=ItsmEscalation(urgency=1, auto_resolve=True)
    )
    handle = w.client.get_workflow_handle(case.workflow_id)
    (incident,) = (await handle.query(CaseWorkflow.state)).incidents
    for status, kw in (
        ("in_progress", {"comment": "On it."}),
        ("resolved", {"resolution": "Patched."}),
    ):
        await handle.execute_update(
            CaseWorkflow.incident_update,
            IncidentUpdate(incident.incident_id, status, actor_role="integration", **kw),
            id=f"itsm-{status}",
        )
    await wait_row(w.sessions, case.id, lambda c: c.state == "resolved")
    await act(w.client, case, "accept", role="contact")
    return {"itsm_incident": await w.finished(case, "closed")}


# ----- SLA paths: warnings, pause and resume, breach with escalation, re-times -----------

H = 3600


async def _slas(w: World, *specs: tuple[str, str, int, list[float]], schedule_id=None) -> None:
    """An entitlement of the customer's account granting these SLAs (name, kind, s, warn_at)."""
    ids = []
    for name, kind, seconds, warn_at in specs:
        d = await f.sla_definition(
            w.sessions, name, kind, seconds, warn_at=warn_at, schedule_id=schedule_id
        )
        ids.append(d.id)
    await f.entitlement(w.sessions, "Gold", ids, account_id=w.account_id)


async def sla_pause_warn_breach(w: World) -> dict[str, str]:
    """Warnings at 50 % and 75 %, a pause on awaiting_info that adds nothing, the breach (it
    escalates the priority of an assigned case), then a reply, a resolution and acceptance."""
    await _slas(w, ("Respond", "response", 4 * H, [0.5, 0.75]), ("Fix", "resolution", 8 * H, []))
    case = await w.open_case()
    await w.env.sleep(timedelta(hours=1))
    await act(w.client, case, "await-info", body="Which firmware?")
    await w.env.sleep(timedelta(hours=10))  # paused: no threshold fires
    await act(w.client, case, "customer-reply", role="contact", body="2.0.1")
    await w.env.sleep(timedelta(hours=3, minutes=30))  # 50 %, 75 % and the breach
    await wait_row(w.sessions, case.id, lambda c: c.breached)
    await act(w.client, case, "respond", body="Sorry for the wait: update to 2.1.")
    await act(w.client, case, "resolve", body="2.1 fixes it.")
    await act(w.client, case, "accept", role="contact")
    return {"sla_pause_warn_breach": await w.finished(case, "closed")}


async def breach_requeue(w: World) -> dict[str, str]:
    """Nobody is available: the case waits; its response SLA breaches and it moves to the
    escalation queue (a dispatch from the workflow); then it is cancelled."""
    await _slas(w, ("Respond", "response", 1 * H, []))
    await f.add(w.sessions, Queue(name="support", escalation_queue="tier2"))
    async with w.sessions() as db, db.begin():
        await db.execute(update(Agent).where(Agent.id == w.agent.id).values(status="away"))
    case = await w.open_case(assigned=False)
    await wait_row(w.sessions, case.id, lambda c: c.waiting_since is not None)
    await w.env.sleep(timedelta(hours=1, minutes=1))
    await wait_row(w.sessions, case.id, lambda c: c.queue == "tier2")
    await act(w.client, case, "cancel", reason="Handled by phone.")
    return {"breach_requeue": await w.finished(case, "cancelled")}


async def priority_swap(w: World) -> dict[str, str]:
    """No entitlement: the priority's default SLAs apply; raising the priority swaps them,
    carrying over the time already run, and the new target breaches sooner."""
    await f.sla_definition(w.sessions, "P3 response", "response", 8 * H, default_for_priority=3)
    await f.sla_definition(w.sessions, "P1 response", "response", 2 * H, default_for_priority=1)
    case = await w.open_case()
    await w.env.sleep(timedelta(hours=1))
    await act(w.client, case, "change-priority", role="supervisor", priority=1)
    await w.env.sleep(timedelta(hours=1, minutes=30))
    await wait_row(w.sessions, case.id, lambda c: c.breached)
    await act(w.client, case, "respond", body="On it.")
    await act(w.client, case, "resolve", body="Done.")
    await act(w.client, case, "accept", role="contact")
    return {"priority_swap": await w.finished(case, "closed")}


async def policy_retime(w: World) -> dict[str, str]:
    """An edited SLA definition and its schedule re-time a running case (a signal from a
    PolicyChangeWorkflow, also recorded)."""
    office = await f.add(
        w.sessions,
        ScheduleRow(id=uuid.uuid4(), name="office", timezone="UTC", hours=OFFICE, holidays=[]),
    )
    await _slas(w, ("Fix", "resolution", 10 * H, []), schedule_id=office.id)
    case = await w.open_case()
    async with w.sessions() as db:
        (definition_id,) = (await db.execute(select(SlaDefinition.id))).scalars().all()
    async with w.sessions() as db, db.begin():
        await db.execute(
            update(SlaDefinition)
            .where(SlaDefinition.id == definition_id)
            .values(duration_seconds=20 * H)
        )
        await db.execute(update(ScheduleRow).where(ScheduleRow.id == office.id).values(hours=DAILY))
    change = str(uuid.uuid4())
    await w.client.execute_workflow(
        PolicyChangeWorkflow.run,
        PolicyChangeInput(change, [str(definition_id)]),
        id=f"policy-{change}",
        task_queue=w.tq,
    )
    await wait_row(w.sessions, case.id, lambda c: c.version >= 3)
    await act(w.client, case, "resolve", body="Done.")
    await act(w.client, case, "accept", role="contact")
    return {
        "policy_retime": await w.finished(case, "closed"),
        "policy_change": f"policy-{change}",
    }


async def continue_as_new(w: World) -> dict[str, str | tuple[str, str]]:
    """A busy case crosses continue-as-new (the first run's history is kept too)."""
    case = await open_case(
        sessions=w.sessions,
        client=w.client,
        task_queue=w.tq,
        fields={"subject": "Busy", "channel": "email", "contact_id": w.customer.id},
        history_limit=40,
    )
    case = await wait_row(w.sessions, case.case_id, lambda c: c.assigned_agent_id)
    first_run = (await described(w.client.get_workflow_handle(case.workflow_id))).execution.run_id
    for i in range(12):
        await act(w.client, case, "note", body=f"Looked at it ({i}).")
    await act(w.client, case, "resolve", body="Done.")
    await act(w.client, case, "accept", role="contact")
    return {
        "continue_as_new": await w.finished(case, "closed"),
        "continue_as_new_first_run": (case.workflow_id, first_run),
    }


async def customer_merge(w: World) -> dict[str, str]:
    """The case's account is merged into another: the CustomerMergeWorkflow (also recorded)
    moves the rows and tells the case (the `customer_merged` signal), which follows it."""
    survivor = await f.account(w.sessions, "Acme Group", domains=("acme-group.example",))
    case = await w.open_case()
    merge = MergeInput(str(uuid.uuid4()), "account", str(w.account_id), str(survivor.id))
    # Awaiting a result lets the time-skipping server skip ahead, and this case has no timer
    # to stop it: without this, the case would run out its (test server's) execution timeout.
    with w.env.auto_time_skipping_disabled():
        await w.client.execute_workflow(
            CustomerMergeWorkflow.run, merge, id=f"merge-{merge.merge_id}", task_queue=w.tq
        )
    handle = w.client.get_workflow_handle(case.workflow_id)
    for _ in range(300):
        if (await handle.query(CaseWorkflow.state)).account_id == str(survivor.id):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the case never followed the merge")
    await act(w.client, case, "resolve", body="Done.")
    await act(w.client, case, "accept", role="contact")
    return {
        "customer_merge": await w.finished(case, "closed"),
        "customer_merge_workflow": f"merge-{merge.merge_id}",
    }


async def maintenance_run(w: World) -> dict[str, str]:
    """A maintenance plan's run (MaintenanceRunWorkflow) over three assets, two a page: it
    opens a case with a work order for each, then records its counts."""
    product = await f.product(w.sessions, "Boiler")
    plan = await f.maintenance_plan(w.sessions, product.id, parts=["filter kit"])
    boilers = [
        Asset(id=uuid.uuid4(), product_id=product.id, serial=f"B-{n}", account_id=w.account_id)
        for n in range(3)
    ]
    await f.add(w.sessions, *boilers)
    wf_id = f"maintenance-run-{plan.id}"
    handle = await w.client.start_workflow(
        MaintenanceRunWorkflow.run,
        ScheduledRunInput(plan_id=str(plan.id), batch_size=2),
        id=wf_id,
        task_queue=w.tq,
    )
    summary = await handle.result()
    assert (summary.items_due, summary.cases_opened) == (3, 3), summary
    return {"maintenance_run": wf_id}


async def major_case(w: World) -> dict[str, str]:
    """A major case with two children: a broadcast to them, then the major case resolved
    and its children with it (MajorCaseFanOutWorkflow, its two kinds over case updates)."""
    major = await w.open_case()
    children = [await w.open_case() for _ in range(2)]
    async with w.sessions() as db, db.begin():
        ids = [c.id for c in children]
        await db.execute(update(Case).where(Case.id.in_(ids)).values(parent_case_id=major.id))
    ran = {}
    for name, kind, words in (
        ("major_broadcast", FanOutKind.BROADCAST, "Engineers are on site."),
        ("major_resolve", FanOutKind.RESOLVE, "Fixed upstream."),
    ):
        fan_out_id = f"{kind}-{major.id}-recorded"
        arg = FanOutInput(
            kind=kind,
            major_case_id=str(major.id),
            major_number=major.number,
            fan_out_id=fan_out_id,
            text=words,
        )
        handle = await w.client.start_workflow(
            MajorCaseFanOutWorkflow.run, arg, id=fan_out_id, task_queue=w.tq
        )
        # Not handle.result(): it would let time run on (see `dispatch`).
        for _ in range(300):
            if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
                break
            await asyncio.sleep(0.05)
        ran[name] = handle.id
    for case in (major, *children):
        await wait_row(w.sessions, case.id, lambda c: c.state == "resolved")
    return ran


async def major_system_resolve(w: World) -> dict[str, str]:
    """A major case resolved by the system (its own work order, completed as fixed): from
    0.2.0 (patch `major-resolve-fans-out`) its child is resolved with it; the customer
    accepts the major case."""
    await technician(w.sessions, "Tess", skills=["fiber"], parts=[], territory=None)
    major = await w.open_case()
    child = await w.open_case()
    async with w.sessions() as db, db.begin():
        await db.execute(update(Case).where(Case.id == child.id).values(parent_case_id=major.id))
    request = FieldServiceRequest(skills=["fiber"], auto_resolve=True)
    await act(w.client, major, "request-field-service", request=request)
    wo = await wait_work_order(w.sessions, major.id, lambda x: x.state == "dispatched")
    await wo_act(w.client, wo, "accept")
    await wo_act(w.client, wo, "start")
    await wo_act(w.client, wo, "complete", fixed=True, notes="Replaced the line card.")
    await wait_row(w.sessions, major.id, lambda c: c.state == "resolved")
    await wait_row(w.sessions, child.id, lambda c: c.state == "resolved")
    await act(w.client, major, "accept", role="contact")
    return {"major_system_resolve": await w.finished(major, "closed")}


async def housekeeping(w: World) -> dict[str, str]:
    """A `HousekeepingWorkflow` (the daily schedule's run) purges two ended sessions, a
    batch of one at a time."""
    from datetime import UTC, datetime

    from tests.activities.test_housekeeping import web_session

    old = datetime.now(UTC) - timedelta(days=30)
    await f.add(w.sessions, web_session("old-1", expires=old), web_session("old-2", expires=old))
    handle = await w.client.start_workflow(
        HousekeepingWorkflow.run,
        PurgeInput(after_days=7, batch=1),
        id=f"housekeeping-{uuid.uuid4().hex[:8]}",
        task_queue=w.tq,
    )
    for _ in range(300):  # not handle.result(): it would let time run on (see `dispatch`)
        if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
            break
        await asyncio.sleep(0.05)
    return {"housekeeping": handle.id}


# name of the path -> (how it runs, capacity of its one agent)
PATHS: dict[str, tuple[Scenario, int]] = {
    "accept": (accept, 5),
    "reject_reopen": (reject_reopen, 5),
    "lapse": (lapse, 5),
    "cancel": (cancel, 5),
    "await_info": (await_info, 5),
    "waiting_then_assigned": (waiting_then_assigned, 1),
    "refused_action": (refused_action, 5),
    "dispatch": (dispatch, 1),
    "work_order_fixed": (work_order_fixed, 5),
    "itsm_incident": (itsm_incident, 5),
    "cancel_with_work_order": (cancel_with_work_order, 5),
    "sla_pause_warn_breach": (sla_pause_warn_breach, 5),
    "breach_requeue": (breach_requeue, 5),
    "priority_swap": (priority_swap, 5),
    "policy_retime": (policy_retime, 5),
    "continue_as_new": (continue_as_new, 5),
    "customer_merge": (customer_merge, 5),
    "assign_partner": (assign_partner, 5),
    "maintenance_run": (maintenance_run, 5),
    "major_case": (major_case, 5),
    "major_system_resolve": (major_system_resolve, 5),
    "housekeeping": (housekeeping, 5),
}


async def _empty(sessions) -> None:
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    async with sessions() as db, db.begin():
        await db.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


async def record_all(
    sessions: async_sessionmaker[AsyncSession], out_dir: Path, only: list[str] | None = None
) -> list[Path]:
    """Drive each path (or just `only`) to completion and write its histories to out_dir.

    Each path runs on a time-skipping server of its own: a path that lets hours pass must
    not leave the next one's clock ahead of the case rows' creation times, and nothing a
    path leaves behind can hold the next one's clock.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in only or list(PATHS):
        run, capacity = PATHS[name]
        await _empty(sessions)
        acct = await f.account(sessions)
        ada = await f.contact(sessions, acct.id, email="ada@acme.example")
        agent = await f.agent(sessions, "Solo", capacity=capacity)
        env = await time_skipping()
        try:
            async with running_worker(env.client, make_deps(sessions)) as tq:
                ids = await run(World(sessions, env, tq, ada, agent, acct.id))
                written += [await _write(env, out_dir, name, wf) for name, wf in ids.items()]
        finally:
            await env.shutdown()
    return written


async def _write(
    env: WorkflowEnvironment, out_dir: Path, history_name: str, wf: str | tuple[str, str]
) -> Path:
    wf_id, run_id = wf if isinstance(wf, tuple) else (wf, None)
    handle = env.client.get_workflow_handle(wf_id, run_id=run_id)
    status = (await described(handle)).status
    ended = (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CONTINUED_AS_NEW)
    if status not in ended:
        raise AssertionError(f"{history_name}: {wf_id} is {status}, not completed")
    path = out_dir / f"{history_name}.json"
    path.write_text((await handle.fetch_history()).to_json() + "\n")
    return path


async def _record(database_url: str, out_dir: Path, only: list[str] | None) -> list[Path]:
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url, pool_size=5)
    try:
        return await record_all(make_session_factory(engine), out_dir, only)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    from casework.devstack import create_database, start_postgres
    from models.migrate import upgrade

    parser = argparse.ArgumentParser(
        prog="python -m tests.replay.record", description=__doc__.splitlines()[0]
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"default: all of {list(PATHS)}")
    parser.add_argument("--out", type=Path, default=HISTORIES)
    args = parser.parse_args(argv)
    if unknown := set(args.paths) - set(PATHS):
        parser.error(f"unknown paths {sorted(unknown)}; choose from {list(PATHS)}")
    # Not a 0700 temp dir: initdb runs as an unprivileged user that must reach the data dir.
    root = Path(tempfile.mkdtemp(prefix="casework-record-pg-"))
    root.chmod(0o755)
    pg = start_postgres(root / "data")
    try:
        url = create_database(pg.uri, "casework_record")
        upgrade(url)
        written = asyncio.run(_record(url, args.out, args.paths or None))
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    for path in written:
        print(f"{path.stat().st_size:>8}  {path}")


if __name__ == "__main__":
    main()
