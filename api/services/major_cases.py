"""Major cases from the API: which cases are major, linking children, broadcast.

Resolving together is no API step: a major case's own workflow, once resolved by anyone,
resolves its children (CaseWorkflow._resolve_children). Each operation here that reaches
many children starts one MajorCaseFanOutWorkflow with an
update-with-start: its `major_step` update answers once the major case's own step is done
(opened, resolved, or its broadcast recorded), and the children follow in batches, durably,
whether or not the caller is still waiting. The fan-out's id is derived from the request
(its Idempotency-Key, or the event), so the same request sent twice fans out once.
"""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.major_of import major_of
from api.auth import Principal, require
from api.errors import Problem
from api.services import cases
from api.services.intake import bad
from models.cases import Case, CaseEvent
from workflows.fan_out import MajorCaseFanOutWorkflow
from workflows.fan_out_types import FanOutInput, FanOutResult, MajorStepResult, WhenStepped
from workflows.vocabulary import INVALID, TERMINAL, FanOutKind, Role

LINKERS = (Role.AGENT, Role.SUPERVISOR)  # who links children and broadcasts (admin too)
STEP_TIMEOUT = timedelta(seconds=20)  # how long a request waits for the major case's step
KEY_DIGEST = 32


def request_id(case_id: uuid.UUID, what: str, idempotency_key: str | None) -> str:
    """A fresh suffix, or one derived from the caller's Idempotency-Key (per case and what)."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    digest = hashlib.sha256(f"{case_id}\n{what}\n{idempotency_key}".encode()).hexdigest()
    return f"key-{digest[:KEY_DIGEST]}"


async def task_queue_of(client: Client, workflow_id: str) -> str:
    """The task queue a running workflow is on (its fan-out runs on the same workers)."""
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return described.execution_config.task_queue.name


async def fan_out(client: Client, task_queue: str, arg: FanOutInput) -> MajorStepResult | None:
    """Start (or find) the fan-out and wait for the major case's own step; None when that
    takes longer than STEP_TIMEOUT (it still happens)."""
    start = WithStartWorkflowOperation(
        MajorCaseFanOutWorkflow.run,
        arg,
        id=arg.fan_out_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    try:
        return await client.execute_update_with_start_workflow(
            MajorCaseFanOutWorkflow.major_step,
            WhenStepped(),
            start_workflow_operation=start,
            id=f"step-{arg.fan_out_id}",
            rpc_timeout=STEP_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:  # it has run its course: its result says how
        return await outcome(client, arg.fan_out_id)
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        return None
    except RPCError as err:  # some servers answer the closed run's id so
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
        return await outcome(client, arg.fan_out_id)


async def outcome(client: Client, fan_out_id: str) -> MajorStepResult:
    handle = client.get_workflow_handle(fan_out_id, result_type=FanOutResult)
    return (await handle.result()).step


def refusal(step: MajorStepResult | None) -> None:
    if step is not None and not step.ok:
        raise Problem(422 if step.refusal_type == INVALID else 409, step.message or "refused")


async def major_case(db, who: Principal, case_id: uuid.UUID) -> tuple[Case, str | None]:
    """The case, if the caller may see it, is not ended, and is major (409 otherwise), with
    the id of the event it is the major case of, if any."""
    case = await cases.visible_case(db=db, who=who, case_id=case_id)
    if case.state in TERMINAL:
        raise Problem(409, f"the case is {case.state}")
    major, event_ref = await major_of(db, case_id)
    if not major:
        raise Problem(409, "only a major case (one with children) can do this")
    return case, event_ref


async def broadcast(
    *,
    db,
    client: Client,
    who: Principal,
    case_id: uuid.UUID,
    body: str,
    idempotency_key: str | None,
) -> dict:
    """Tell every child's customer once; the answer is the major case's view. The major
    case's own step (its timeline event) is answered here (a refusal as 409/422), the
    children's follow in batches."""
    require(who, *LINKERS)
    case, event_ref = await major_case(db, who, case_id)
    fan_out_id = f"broadcast-{case_id}-{request_id(case_id, 'broadcast', idempotency_key)}"
    workflow_id = case.workflow_id  # read before the rollback expires the row
    await db.rollback()  # hold no connection while the workflows work
    step = await fan_out(
        client,
        await task_queue_of(client, workflow_id),
        FanOutInput(
            kind=FanOutKind.BROADCAST,
            major_case_id=str(case_id),
            major_number=workflow_id.removeprefix("case-"),
            fan_out_id=fan_out_id,
            event_ref=event_ref,
            text=body,
            actor_role=who.role,
            actor_id=str(who.subject_id) if who.subject_id else None,
        ),
    )
    refusal(step)
    return await cases.get(db=db, who=who, case_id=case_id)


async def link_children(
    *, db, who: Principal, case_id: uuid.UUID, case_ids: list[uuid.UUID]
) -> dict:
    """Make the case major and link the given cases under it (one transaction)."""
    require(who, *LINKERS)
    parent = await cases.visible_case(db=db, who=who, case_id=case_id)
    if parent.state in TERMINAL:
        raise Problem(409, f"the case is {parent.state}")
    if parent.parent_case_id is not None:
        raise Problem(409, "a child case cannot be made major; link to its major case instead")
    wanted = list(dict.fromkeys(case_ids))
    if case_id in wanted:
        raise bad("case_ids", "a case cannot be its own child")
    rows = (
        await db.execute(
            select(Case.id, Case.number, Case.parent_case_id).where(Case.id.in_(wanted))
        )
    ).all()
    found = {r.id: r for r in rows}
    if unknown := [str(i) for i in wanted if i not in found]:
        raise bad("case_ids", f"no such cases: {', '.join(unknown)}")
    if taken := [r.number for r in rows if r.parent_case_id not in (None, case_id)]:
        raise Problem(409, f"already children of another major case: {', '.join(taken)}")
    majors = (
        await db.execute(select(Case.number).where(Case.parent_case_id.in_(wanted)).distinct())
    ).all()
    if majors:
        raise bad("case_ids", "a major case cannot be a child")
    await db.execute(update(Case).where(Case.id.in_(wanted)).values(parent_case_id=case_id))
    now, actor = datetime.now(UTC), str(who.subject_id) if who.subject_id else None
    events = []
    for child in rows:
        link = {"major_case_id": str(case_id), "case_id": str(child.id), "number": child.number}
        common = {
            "actor_role": who.role,
            "actor_id": actor,
            "public": False,
            "data": link,
            "at": now,
        }
        events.append(
            {"case_id": case_id, "key": f"child:{child.id}", "kind": "child_linked", **common}
        )
        events.append(
            {"case_id": child.id, "key": f"major:{case_id}", "kind": "linked_to_major", **common}
        )
    # Keyed per pair: linking the same case again records nothing new.
    await db.execute(
        insert(CaseEvent).on_conflict_do_nothing(index_elements=["case_id", "key"]), events
    )
    await db.commit()
    children = (
        (
            await db.execute(
                select(Case.id)
                .where(Case.parent_case_id == case_id)
                .order_by(Case.created_at, Case.id)
            )
        )
        .scalars()
        .all()
    )
    return {"major_case_id": case_id, "case_ids": list(children)}
