"""Work orders: technicians read and move on their own; technician availability dispatches
waiting work orders; category rules spawn work orders at intake."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select
from temporalio.client import Client

from api.auth import Principal, require
from api.deps import ClientDep, CurrentPrincipal, SessionDep, SettingsDep
from api.errors import Problem, not_found
from api.pagination import CursorQ, LimitQ, page, result
from api.routes.catalog import one, save
from api.schemas.catalog import Page, TechnicianRead
from api.schemas.field_service import (
    FieldServiceRuleCreate,
    FieldServiceRuleRead,
    TechnicianAvailability,
    WorkOrderActionBody,
    WorkOrderRead,
)
from api.updates import run_update
from casework.settings import Settings
from models.field_service import WORK_ORDER_STATES, FieldServiceRule, WorkOrder
from models.people import Technician
from workflows.types import WorkOrderAction, WorkOrderDispatchInput
from workflows.work_order import (
    ACTIONS,
    ALLOWED,
    DONE,
    WorkOrderDispatchWorkflow,
    WorkOrderWorkflow,
)

router = APIRouter(tags=["work orders"])
WorkOrderId = Annotated[uuid.UUID, Path(description="The work order id (UUID)")]
READERS = ("supervisor", "agent", "technician", "integration")
# Who may take each action (admin may take all): the technician moves their visit on;
# staff may call one off.
ACTION_ROLES = {
    "accept": ("technician",),
    "start": ("technician",),
    "complete": ("technician",),
    "cancel": ("technician", "agent", "supervisor"),
}


def mine(query, who: Principal):
    """A technician sees only the work orders assigned to them."""
    if who.role == "technician":
        return query.where(WorkOrder.technician_id == who.subject_id)
    return query


async def visible_work_order(db, who: Principal, wo_id: uuid.UUID) -> WorkOrder:
    query = mine(select(WorkOrder).where(WorkOrder.id == wo_id), who)
    wo = (await db.execute(query.execution_options(populate_existing=True))).scalar()
    if wo is None:
        raise not_found("work order")
    return wo


@router.get("/work-orders", response_model=Page[WorkOrderRead], summary="List work orders")
async def list_work_orders(
    db: SessionDep,
    who: CurrentPrincipal,
    state: Annotated[str | None, Query(max_length=20)] = None,
    case_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
):
    require(who, *READERS)
    if state is not None and state not in WORK_ORDER_STATES:
        raise Problem(
            422,
            f"state must be one of {', '.join(WORK_ORDER_STATES)}",
            errors=[{"loc": ["query", "state"], "msg": "unknown state"}],
        )
    query = mine(select(WorkOrder), who)
    for column, value in (("state", state), ("case_id", case_id), ("technician_id", technician_id)):
        if value is not None:
            query = query.where(getattr(WorkOrder, column) == value)
    rows = (await db.execute(page(query, WorkOrder, limit, cursor))).scalars().all()
    return result(list(rows), limit, WorkOrderRead.model_validate)


@router.get("/work-orders/{wo_id}", response_model=WorkOrderRead, summary="Read one work order")
async def get_work_order(wo_id: WorkOrderId, db: SessionDep, who: CurrentPrincipal):
    require(who, *READERS)
    return WorkOrderRead.model_validate(await visible_work_order(db, who, wo_id))


@router.post(
    "/work-orders/{wo_id}/actions/{action}",
    response_model=WorkOrderRead,
    summary="Accept, start, complete or cancel a work order",
    responses={409: {"description": "the work order's state does not allow the action"}},
)
async def act_on_work_order(
    wo_id: WorkOrderId,
    action: Annotated[str, Path(max_length=40)],
    db: SessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    body: WorkOrderActionBody | None = None,
):
    if action not in ACTIONS:
        raise Problem(404, f"no such action {action!r}")
    require(who, *ACTION_ROLES[action])
    wo = await visible_work_order(db, who, wo_id)
    body = body or WorkOrderActionBody()
    if action == "complete" and body.fixed is None:
        msg = "fixed (true or false) is required to complete"
        raise Problem(422, msg, errors=[{"loc": ["body", "fixed"], "msg": msg}])
    if wo.state in DONE:
        raise Problem(409, f"cannot {action} a work order that is {wo.state}")
    workflow_id = wo.workflow_id
    await db.rollback()  # do not hold a transaction open while the workflow works
    arg = WorkOrderAction(
        action=action,
        actor_role=who.role,
        actor_id=str(who.subject_id) if who.subject_id else None,
        notes=body.notes,
        parts_used=list(body.parts_used),
        fixed=body.fixed,
        reason=body.reason,
    )
    handle = client.get_workflow_handle(workflow_id)

    async def applied(_update_id: str) -> bool:
        """The work order ended with this action, though the server forgot the update."""
        state = (await db.execute(select(WorkOrder.state).where(WorkOrder.id == wo_id))).scalar()
        return state == ALLOWED[action][1]

    await run_update(
        handle, WorkOrderWorkflow.act, arg, action=action, what="work order", applied=applied
    )
    return WorkOrderRead.model_validate(await visible_work_order(db, who, wo_id))


# ----- technicians -----------------------------------------------------------------------


async def dispatch_work_orders(client: Client, settings: Settings, technician_id) -> None:
    """Book waiting work orders now that this technician may take them."""
    run = uuid.uuid4()
    await client.start_workflow(
        WorkOrderDispatchWorkflow.run,
        WorkOrderDispatchInput(key=f"technician-available:{technician_id}:{run}"),
        id=f"wo-dispatch-{run}",
        task_queue=settings.task_queue,
    )


@router.put(
    "/technicians/{technician_id}/availability",
    response_model=TechnicianRead,
    tags=["technicians"],
    summary="Set a technician's availability (available dispatches waiting work orders)",
)
async def set_technician_availability(
    technician_id: uuid.UUID,
    body: TechnicianAvailability,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
):
    own = who.role == "technician" and who.subject_id == technician_id
    if not own and who.role not in ("admin", "supervisor"):
        raise Problem(403, "a technician may change only their own availability")
    technician = await one(db, Technician, technician_id)
    technician.status = body.status
    await db.commit()
    # Also when already available: a retry after a failed start must still dispatch.
    if technician.status == "available":
        await dispatch_work_orders(client, settings, technician.id)
    return TechnicianRead.model_validate(technician)


# ----- category rules --------------------------------------------------------------------


@router.post(
    "/field-service-rules",
    status_code=201,
    response_model=FieldServiceRuleRead,
    tags=["field service rules"],
    summary="A category rule: matching new cases spawn a work order at intake",
)
async def create_rule(body: FieldServiceRuleCreate, db: SessionDep, who: CurrentPrincipal):
    require(who, "integration")
    fields = body.model_dump()
    fields["category"] = body.category.model_dump(exclude_none=True)
    rule = FieldServiceRule(id=uuid.uuid4(), **fields)
    await save(db, rule, conflict="the rule conflicts with an existing one")
    return FieldServiceRuleRead.model_validate(rule)


@router.get(
    "/field-service-rules",
    response_model=Page[FieldServiceRuleRead],
    tags=["field service rules"],
)
async def list_rules(
    db: SessionDep, who: CurrentPrincipal, limit: LimitQ = 50, cursor: CursorQ = None
):
    require(who, "supervisor", "agent", "integration")
    query = page(select(FieldServiceRule), FieldServiceRule, limit, cursor)
    rows = (await db.execute(query)).scalars()
    return result(list(rows), limit, FieldServiceRuleRead.model_validate)
