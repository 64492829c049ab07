"""PolicyChangeWorkflow: tell every running case that uses an edited SLA definition."""

from temporalio import workflow

from workflows import calls
from workflows.types import PolicyChanged, PolicyChangeInput

POLICY_SIGNAL = "policy_changed"


@workflow.defn(name="PolicyChangeWorkflow")
class PolicyChangeWorkflow:
    """A signal to each affected case, not a batch rewrite: each case re-times its own clocks
    from its own history of pauses. Durable, so an API crash mid-way loses no case."""

    @workflow.run
    async def run(self, arg: PolicyChangeInput) -> int:
        affected = await calls.find_cases_using(arg)
        change = PolicyChanged(arg.change_id, affected.slas)
        told = 0
        for workflow_id in affected.workflow_ids:
            try:
                await workflow.get_external_workflow_handle(workflow_id).signal(
                    POLICY_SIGNAL, change
                )
                told += 1
            except Exception as err:  # the case ended meanwhile: nothing to re-time
                workflow.logger.info("case %s not told of the change: %s", workflow_id, err)
        return told
