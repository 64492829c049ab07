"""CustomerMergeWorkflow: fold an account or contact into its survivor, then tell its cases."""

import asyncio

from temporalio import workflow

from workflows import calls
from workflows.customer_merge import (
    CUSTOMER_MERGED_SIGNAL,
    CustomerMerged,
    MergeInput,
    MergeResult,
)

SIGNAL_BATCH = 100  # signals sent together: one workflow task per batch, not per case


@workflow.defn(name="CustomerMergeWorkflow")
class CustomerMergeWorkflow:
    """Durable from the moment the API starts it: the merge's one transaction (an activity
    with retries, idempotent by merge id) and then a signal to each running case it moved,
    so a crash anywhere leaves no case pointing at the merged record in its workflow."""

    @workflow.run
    async def run(self, arg: MergeInput) -> MergeResult:
        result = await calls.merge_customer(arg)
        sig = CustomerMerged(arg.merge_id, arg.kind, arg.from_id, arg.into_id)
        ids = result.workflow_ids
        for start in range(0, len(ids), SIGNAL_BATCH):
            told = await asyncio.gather(*(_tell(i, sig) for i in ids[start : start + SIGNAL_BATCH]))
            result.told += sum(told)
        return result


async def _tell(workflow_id: str, sig: CustomerMerged) -> bool:
    try:
        await workflow.get_external_workflow_handle(workflow_id).signal(CUSTOMER_MERGED_SIGNAL, sig)
        return True
    except Exception as err:  # the case ended meanwhile: its row already names the survivor
        workflow.logger.info("case %s not told of the merge: %s", workflow_id, err)
        return False
