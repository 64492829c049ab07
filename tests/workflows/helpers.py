"""Drive CaseWorkflow directly through the Temporal client, as the API does."""

import asyncio
import uuid

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.services.intake import open_case
from models.cases import Case, CaseEvent, Notification
from workflows.actions import ACTIONS, Action, ActionResult


async def open_for(sessions, client, tq, who, **fields) -> Case:
    fields = {"subject": "Router down", "channel": "email", **fields}
    fields.setdefault("contact_id", who.id)
    opening = await open_case(sessions=sessions, client=client, task_queue=tq, fields=fields)
    return await row(sessions, opening.case_id)


async def act(client, case: Case, action: str, role: str = "agent", **kw):
    """Take `action` as its own update, with the input the action table names for it."""
    action = Action(action)
    if action == Action.RESOLVE and "body" in kw:
        kw["resolution"] = kw.pop("body")
    arg = ACTIONS[action].input(actor_role=role, **kw)
    handle = client.get_workflow_handle(case.workflow_id)
    return await update(handle, str(action), arg, result_type=ActionResult)


async def update(handle, method, arg, result_type=None):
    """execute_update, for an update that may end its workflow (cancel, accept, complete)."""
    try:
        return await handle.execute_update(
            method, arg, id=str(uuid.uuid4()), result_type=result_type
        )
    except RPCError as err:
        # An update that ends the workflow (cancel, accept) can be forgotten with it before
        # its result is read (the time-skipping server does): it applied if the workflow
        # completed (the caller checks how).
        if err.status != RPCStatusCode.NOT_FOUND or not err.message.startswith("update"):
            raise
        if (await described(handle)).status != WorkflowExecutionStatus.COMPLETED:
            raise
        return None


async def described(handle):
    """The raw description's execution info (status, run id, first run id). The time-skipping
    test server returns Datetime search attributes (NextDeadline) in a form the SDK cannot
    decode, so `handle.describe()` fails there; the raw answer needs no decoding."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest

    raw = await handle._client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=handle._client.namespace,
            execution=WorkflowExecution(workflow_id=handle.id, run_id=handle.run_id or ""),
        )
    )
    return raw.workflow_execution_info  # .status compares equal to WorkflowExecutionStatus


async def row(sessions, case_id) -> Case:
    async with sessions() as db:
        return await db.get(Case, case_id, populate_existing=True)


async def wait_row(sessions, case_id, check, timeout: float = 15) -> Case:
    for _ in range(int(timeout / 0.05)):
        got = await row(sessions, case_id)
        if check(got):
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"case never got there: state={got.state} agent={got.assigned_agent_id}")


async def events(sessions, case_id) -> list[str]:
    async with sessions() as db:
        rows = await db.execute(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
        return list(rows.scalars())


async def notifications(sessions, case_id=None) -> list[Notification]:
    async with sessions() as db:
        query = select(Notification).order_by(Notification.created_at)
        if case_id:
            query = query.where(Notification.case_id == case_id)
        return list((await db.execute(query)).scalars())


async def settled(sessions, case_id, count: int, timeout: float = 15) -> list[Notification]:
    """Wait until `count` notifications of the case are no longer pending."""
    for _ in range(int(timeout / 0.05)):
        rows = await notifications(sessions, case_id)
        if len(rows) >= count and all(n.status != "pending" for n in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError([(n.template, n.status) for n in rows])
