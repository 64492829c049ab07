"""Routing from inside a workflow: run a dispatch and tell each newly assigned case."""

from temporalio import workflow

from workflows import calls
from workflows.types import AssignedSignal, AssignmentMade, DispatchInput, DispatchResult

ASSIGNED_SIGNAL = "assigned"


async def dispatch(arg: DispatchInput, *, own_case_id: str | None = None) -> DispatchResult:
    """Dispatch, then signal every assigned case other than the caller's own.

    The dispatch activity returns the same assignments when retried with the same key, and
    signals from a workflow are durable, so no assignment is ever left untold.
    """
    result = await calls.dispatch_cases(arg)
    await tell_assigned(result, own_case_id=own_case_id)
    return result


async def tell_assigned(result: DispatchResult, *, own_case_id: str | None = None) -> None:
    """Signal every case a dispatch assigned, but the caller's own."""
    for made in result.assignments:
        if made.case_id != own_case_id:
            await _tell(made)


async def _tell(made: AssignmentMade) -> None:
    handle = workflow.get_external_workflow_handle(made.workflow_id)
    try:
        await handle.signal(
            ASSIGNED_SIGNAL,
            AssignedSignal(made.assignment_id, made.agent_id, made.notification_id),
        )
    except Exception as err:  # the case may have ended meanwhile; its row says so
        workflow.logger.warning("could not tell %s of its assignment: %s", made.workflow_id, err)


@workflow.defn(name="DispatchWorkflow")
class DispatchWorkflow:
    """Routes waiting cases after capacity changes outside any case (agent availability)."""

    @workflow.run
    async def run(self, arg: DispatchInput) -> DispatchResult:
        return await dispatch(arg)
