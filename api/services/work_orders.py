"""Work orders: what a caller may see, the list, and a technician's (or staff's) action."""

import uuid

from sqlalchemy import select
from temporalio.client import Client

from api.auth import Principal, require
from api.errors import Problem, not_found
from api.pagination import equal, read_page
from api.schemas.field_service import WorkOrderActionBody, WorkOrderRead
from api.updates import run_update
from models.field_service import WorkOrder
from workflows.types import WorkOrderAction
from workflows.vocabulary import Role, WorkOrderState
from workflows.work_order import ALLOWED, DONE, WorkOrderWorkflow

# Who may take each action (admin may take all): the technician moves their visit on;
# staff may call one off.
ACTION_ROLES = {
    "accept": (Role.TECHNICIAN,),
    "start": (Role.TECHNICIAN,),
    "complete": (Role.TECHNICIAN,),
    "cancel": (Role.TECHNICIAN, Role.AGENT, Role.SUPERVISOR),
}


def mine(query, who: Principal):
    """A technician sees only the work orders assigned to them."""
    if who.role == Role.TECHNICIAN:
        return query.where(WorkOrder.technician_id == who.subject_id)
    return query


async def visible(*, db, who: Principal, wo_id: uuid.UUID) -> WorkOrder:
    query = mine(select(WorkOrder).where(WorkOrder.id == wo_id), who)
    wo = (await db.execute(query.execution_options(populate_existing=True))).scalar()
    if wo is None:
        raise not_found("work order")
    return wo


async def list_page(
    *,
    db,
    who: Principal,
    state: WorkOrderState | None,
    case_id: uuid.UUID | None,
    technician_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> dict:
    filters = {"state": state, "case_id": case_id, "technician_id": technician_id}
    query = equal(mine(select(WorkOrder), who), WorkOrder, filters)
    return await read_page(db, query, WorkOrder, limit, cursor, WorkOrderRead.model_validate)


async def act(
    *,
    db,
    client: Client,
    who: Principal,
    wo_id: uuid.UUID,
    action: str,
    body: WorkOrderActionBody,
) -> WorkOrderRead:
    if action not in ACTION_ROLES:
        raise Problem(404, f"no such action {action!r}")
    require(who, *ACTION_ROLES[action])
    wo = await visible(db=db, who=who, wo_id=wo_id)
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

    async def applied(_update_id: str) -> bool:
        """The work order ended with this action, though the server forgot the update."""
        state = (await db.execute(select(WorkOrder.state).where(WorkOrder.id == wo_id))).scalar()
        return state == ALLOWED[action][1]

    await run_update(
        client.get_workflow_handle(workflow_id),
        WorkOrderWorkflow.act,
        arg,
        action=action,
        what="work order",
        applied=applied,
    )
    return WorkOrderRead.model_validate(await visible(db=db, who=who, wo_id=wo_id))
