"""Open a case: one update-with-start of its CaseWorkflow, answered with what intake made.

The API writes no case row: the workflow's intake inserts it, in the same transaction as
the customer resolution, the entitlement, the SLA clocks, the routing and the
acknowledgement. A kill of the API at any instant leaves either no case or a complete one.
An Idempotency-Key (namespaced by the caller) names the case it opened for 24 hours.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.cases import IntakeKey, case_number_seq, format_case_number
from workflows.case import CaseInput, CaseWorkflow
from workflows.types import NewCase, WhenOpened

KEY_LIFETIME = timedelta(hours=24)
# How long POST /cases waits for intake; past it the case is still opened (202).
OPEN_TIMEOUT = timedelta(seconds=20)
NEW_CASE_FIELDS = {f for f in NewCase.__dataclass_fields__}


@dataclass
class Opening:
    case_id: uuid.UUID
    number: str
    workflow_id: str
    fresh: bool  # False: an earlier request with the same key opened it
    done: bool = True  # False: intake had not finished within OPEN_TIMEOUT


async def reserve(db: AsyncSession, key: str | None) -> tuple[uuid.UUID, str, bool]:
    """A new case's id and number; with a key, the ones it named in the last 24 hours."""
    number = format_case_number((await db.execute(select(case_number_seq.next_value()))).scalar())
    case_id = uuid.uuid4()
    if key is None:
        return case_id, number, True
    now = datetime.now(UTC)
    taken = await db.execute(
        insert(IntakeKey)
        .values(key=key, case_id=case_id, number=number, created_at=now)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={"case_id": case_id, "number": number, "created_at": now},
            where=IntakeKey.created_at < text(":expired"),
        )
        .returning(IntakeKey.case_id)
        .params(expired=now - KEY_LIFETIME)
    )
    if taken.first() is not None:
        return case_id, number, True
    row = (await db.execute(select(IntakeKey).where(IntakeKey.key == key))).scalar_one()
    return row.case_id, row.number, False


async def open_case(
    *,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    fields: dict,
    key: str | None = None,
    history_limit: int = 0,
) -> Opening:
    """Start the case's workflow and wait (up to OPEN_TIMEOUT) for its intake."""
    async with sessions() as db, db.begin():
        case_id, number, fresh = await reserve(db, key)
    workflow_id = f"case-{number}"
    new = NewCase(**{k: _plain(v) for k, v in fields.items() if k in NEW_CASE_FIELDS})
    start = WithStartWorkflowOperation(
        CaseWorkflow.run,
        CaseInput(str(case_id), number, new=new, history_limit=history_limit),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A key retried after its case has ended must not start the case again.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    try:
        await client.execute_update_with_start_workflow(
            CaseWorkflow.opened,
            WhenOpened(),
            start_workflow_operation=start,
            id=f"opened-{case_id}",
            rpc_timeout=OPEN_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        if fresh:
            raise
        return Opening(case_id, number, workflow_id, fresh=False)  # it has run its course
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        return Opening(case_id, number, workflow_id, fresh, done=False)
    return Opening(case_id, number, workflow_id, fresh)


def _plain(value):
    """UUIDs as strings: the workflow's input is plain data."""
    return str(value) if isinstance(value, uuid.UUID) else value
