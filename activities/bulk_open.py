"""Open many new cases at once: bulk intake in chunks, then their workflows started with the
intake done. An event's children (activities/major_cases.py) and a scheduled run's cases
(activities/scheduled_cases.py) open this way.

Each chunk is one transaction (`opening.open_many`: the rows, their intake and one routing
decision), then each case's CaseWorkflow is started with what intake made
(`CaseInput.opened`), then the other waiting cases the routing assigned are told. The next
chunk's transaction runs while this one's workflows start (the database and the server work
side by side), and each start asks the server for the case's first workflow task in its
answer (eager start: this worker runs it, no trip through the task queue). A rerun
finds the rows, the intake and the routing decision (keyed), and the workflows (fixed ids:
`case-<number>`); a repeated `assigned` signal is ignored by its case.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.db import transaction
from activities.deps import Deps
from activities.opening import open_many
from workflows.case import CaseWorkflow
from workflows.case_data import CaseInput
from workflows.routing import ASSIGNED_SIGNAL
from workflows.types import AssignedSignal, AssignmentMade, NewCase, OpenedCase

# Starts or updates in flight at once: enough to keep the server busy, few enough not to
# crowd out the cases' own workflow tasks on a small machine.
CONCURRENCY = 32
# Cases taken in per transaction: one routing decision (the routing lock held once) for this
# many intakes, short enough not to keep other cases' routing waiting long.
INTAKE_CHUNK = 50

NewCases = list[tuple[str, str, NewCase]]  # (case id, number, new case)


async def each(items: list[Any], step: Callable[[Any], Awaitable[bool]]) -> int:
    """Run `step` on every item, CONCURRENCY at a time, heartbeating; how many it applied to."""
    gate = asyncio.Semaphore(CONCURRENCY)
    applied = 0

    async def one(item: Any) -> None:
        nonlocal applied
        async with gate:
            if await step(item):
                applied += 1
            activity.heartbeat()

    await asyncio.gather(*(one(i) for i in items))
    return applied


async def open_in_bulk(deps: Deps, cases: NewCases) -> set[str]:
    """Open the cases, chunk by chunk, from within an activity; the ids of those that could
    not be opened (they failed for good: no row, no workflow)."""
    failed: set[str] = set()
    starting: asyncio.Task[None] | None = None  # the previous chunk's starts
    try:
        for first in range(0, len(cases), INTAKE_CHUNK):
            chunk = cases[first : first + INTAKE_CHUNK]
            async with transaction(deps.sessions) as db:
                opened, others = await open_many(db, deps, chunk)
            failed |= {case_id for case_id, _, _ in chunk if case_id not in opened}
            if starting is not None:
                await starting
            starting = asyncio.create_task(_start_chunk(chunk, opened, others))
            activity.heartbeat()
        if starting is not None:
            await starting
    finally:
        if starting is not None and not starting.done():  # this chunk failed: stop the other
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    return failed


async def _start_chunk(
    chunk: NewCases, opened: dict[str, OpenedCase], others: list[AssignmentMade]
) -> None:
    """Start the chunk's opened cases' workflows, then tell the other cases the routing
    assigned."""
    client, task_queue = activity.client(), activity.info().task_queue

    async def start(case: tuple[tuple[str, str, NewCase], OpenedCase]) -> bool:
        (case_id, number, _), made = case
        try:
            await client.start_workflow(
                CaseWorkflow.run,
                CaseInput(case_id, number, opened=made),  # the row is written: no `new`
                id=f"case-{number}",
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A case that has run its course is not started again.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                # This worker polls the task queue: the first task comes in the answer.
                request_eager_start=True,
            )
        except WorkflowAlreadyStartedError:  # opened and ended already
            return False
        return True

    async def tell(made: AssignmentMade) -> bool:
        signal = AssignedSignal(made.assignment_id, made.agent_id, made.notification_id)
        try:
            await client.get_workflow_handle(made.workflow_id).signal(ASSIGNED_SIGNAL, signal)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return False  # the case has ended meanwhile; its row says so
        return True

    await each([(c, opened[c[0]]) for c in chunk if c[0] in opened], start)
    await each(others, tell)
