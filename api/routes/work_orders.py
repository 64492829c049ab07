"""Work orders: technicians read and move on their own; staff read and may call one off."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import require
from api.deps import ClientDep, CurrentPrincipal, SessionDep
from api.pagination import CursorQ, LimitQ
from api.schemas.catalog import Page
from api.schemas.field_service import WorkOrderActionBody, WorkOrderRead
from api.services import work_orders
from api.updates import BUSY
from workflows.vocabulary import Role, WorkOrderState

router = APIRouter(tags=["work orders"])
WorkOrderId = Annotated[uuid.UUID, Path(description="The work order id (UUID)")]
READERS = (Role.SUPERVISOR, Role.AGENT, Role.TECHNICIAN, Role.INTEGRATION)


@router.get("/work-orders", response_model=Page[WorkOrderRead], summary="List work orders")
async def list_work_orders(
    db: SessionDep,
    who: CurrentPrincipal,
    state: WorkOrderState | None = None,
    case_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
):
    """Field-service work orders, filtered by state, technician or case; staff and integrations
    see all, a technician their own. Keyset paging through `cursor`."""
    require(who, *READERS)
    return await work_orders.list_page(
        db=db,
        who=who,
        state=state,
        case_id=case_id,
        technician_id=technician_id,
        limit=limit,
        cursor=cursor,
    )


@router.get("/work-orders/{wo_id}", response_model=WorkOrderRead, summary="Read one work order")
async def get_work_order(wo_id: WorkOrderId, db: SessionDep, who: CurrentPrincipal):
    """One work order: its case, state, technician, window, skills and parts, and what the
    technician reported."""
    require(who, *READERS)
    return WorkOrderRead.model_validate(await work_orders.visible(db=db, who=who, wo_id=wo_id))


@router.post(
    "/work-orders/{wo_id}/actions/{action}",
    response_model=WorkOrderRead,
    summary="Accept, start, complete or cancel a work order",
    responses={409: {"description": "the work order's state does not allow the action"}, **BUSY},
)
async def act_on_work_order(
    wo_id: WorkOrderId,
    action: Annotated[str, Path(max_length=40)],
    db: SessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    body: WorkOrderActionBody | None = None,
):
    """The technician (or staff) moves the work order on: accept, start, complete (notes, parts
    used, fixed or not) or cancel. An update on the work order's workflow, which tells its case."""
    return await work_orders.act(
        db=db,
        client=client,
        who=who,
        wo_id=wo_id,
        action=action,
        body=body or WorkOrderActionBody(),
    )
