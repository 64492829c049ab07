"""Start a new case's workflow: the update-with-start of POST /cases (and of inbound mail).

The case's id and number are reserved beforehand (so a retry names the same workflow id);
its workflow's intake inserts the row. The update answers once intake has run.
"""

from datetime import timedelta

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from workflows.case import CaseInput, CaseWorkflow
from workflows.types import NewCase, WhenOpened


async def start_case(
    client: Client,
    *,
    task_queue: str,
    case_id: str,
    number: str,
    new: NewCase,
    timeout: timedelta,
    history_limit: int = 0,
) -> None:
    """Start (or join) `case-<number>` and wait up to `timeout` for its intake.

    Raises WorkflowAlreadyStartedError when that case has already run its course,
    WorkflowUpdateFailedError when intake refused it for good (no row exists), and
    WorkflowUpdateRPCTimeoutOrCancelledError when intake did not answer in time."""
    start = WithStartWorkflowOperation(
        CaseWorkflow.run,
        CaseInput(case_id, number, new=new, history_limit=history_limit),
        id=f"case-{number}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A key retried after its case has ended must not start the case again.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    _ = await client.execute_update_with_start_workflow(
        CaseWorkflow.opened,
        WhenOpened(),
        start_workflow_operation=start,
        id=f"opened-{case_id}",
        rpc_timeout=timeout,
    )
