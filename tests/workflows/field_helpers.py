"""Field-service and ITSM test helpers: technicians, assets, work orders and incidents."""

import asyncio
import uuid
from contextlib import asynccontextmanager

from sqlalchemy import select

from models.cases import CaseEvent
from models.customers import Asset
from models.field_service import WorkOrder
from models.itsm import Incident
from models.people import Technician
from tests import factories as f
from tests.conftest import running_worker
from tests.workflows.helpers import update
from workflows.types import WorkOrderAction
from workflows.work_order import WorkOrderWorkflow


async def technician(
    sessions, name, *, skills=(), parts=(), territory="Berlin", status="available"
) -> Technician:
    return await f.add(
        sessions,
        Technician(
            id=uuid.uuid4(),
            name=name,
            email=f"{name.lower()}@field.test",
            skills=list(skills),
            parts=list(parts),
            territory=territory,
            status=status,
        ),
    )


async def asset(sessions, account_id, *, location="Alexanderplatz 1, Berlin", territory="Berlin"):
    product = await f.product(sessions)
    return await f.add(
        sessions,
        Asset(
            id=uuid.uuid4(),
            product_id=product.id,
            serial=uuid.uuid4().hex[:8],
            account_id=account_id,
            location=location,
            territory=territory,
        ),
    )


async def work_orders(sessions, case_id=None) -> list[WorkOrder]:
    async with sessions() as db:
        query = select(WorkOrder).order_by(WorkOrder.created_at)
        if case_id is not None:
            query = query.where(WorkOrder.case_id == case_id)
        return list((await db.execute(query.execution_options(populate_existing=True))).scalars())


async def wait_work_order(sessions, case_id, check, timeout: float = 15) -> WorkOrder:
    """The case's (last) work order once `check` holds for it."""
    got = None
    for _ in range(int(timeout / 0.05)):
        rows = await work_orders(sessions, case_id)
        got = rows[-1] if rows else None
        if got is not None and check(got):
            return got
        await asyncio.sleep(0.05)
    state = (got.state, got.technician_id, got.waiting_reason) if got else None
    raise AssertionError(f"the work order never got there: {state}")


async def incidents(sessions, case_id) -> list[Incident]:
    async with sessions() as db:
        query = select(Incident).where(Incident.case_id == case_id).order_by(Incident.created_at)
        return list((await db.execute(query.execution_options(populate_existing=True))).scalars())


async def timeline(sessions, case_id) -> list[CaseEvent]:
    async with sessions() as db:
        rows = await db.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
        return list(rows.scalars())


async def wait_event(sessions, case_id, kind, timeout: float = 15) -> CaseEvent:
    for _ in range(int(timeout / 0.05)):
        for event in await timeline(sessions, case_id):
            if event.kind == kind:
                return event
        await asyncio.sleep(0.05)
    kinds = [e.kind for e in await timeline(sessions, case_id)]
    raise AssertionError(f"no {kind} event; the timeline has {kinds}")


async def wo_act(client, wo: WorkOrder, action: str, *, role="technician", actor=None, **kw):
    actor_id = actor if actor is not None else (str(wo.technician_id) if wo.technician_id else None)
    return await update(
        client.get_workflow_handle(wo.workflow_id),
        WorkOrderWorkflow.act,
        WorkOrderAction(action=action, actor_role=role, actor_id=actor_id, **kw),
    )


async def end_work_orders(client, sessions) -> None:
    """Terminate work-order workflows a test left running: on the time-skipping server a
    workflow without a worker would hold the clock still for later tests."""
    for wo in await work_orders(sessions):
        try:
            await client.get_workflow_handle(wo.workflow_id).terminate("test over")
        except Exception:
            pass  # already finished


@asynccontextmanager
async def field_worker(client, deps, task_queue=None):
    """running_worker, then every work order of the test ended too."""
    try:
        async with running_worker(client, deps, task_queue) as tq:
            yield tq
    finally:
        await end_work_orders(client, deps.sessions)
