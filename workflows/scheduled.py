"""The runs Temporal Schedules start: a maintenance plan's, and the entitlement expiry's.

A run walks what falls due a page at a time: one activity finds a page (assets of the plan,
or entitlements ending), one opens its cases. So a run over 10,000 assets at 200 a page
makes about 50 × 7 events, far from Temporal's 51,200-event history limit; past the
server's suggestion it continues as new with its place (`after`) and its day carried. The
run's day is fixed at its first start, so a retried page names the same due dates, and each
case opens once per key (a unique row written before its workflow starts).
"""

import dataclasses

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import calls
from workflows.scheduled_types import DueQuery, OpenDue, RunRecord, RunSummary, ScheduledRunInput
from workflows.upkeep import EXPIRY_SCHEDULE_ID, plan_schedule_id


async def run_in_pages(
    arg: ScheduledRunInput, *, find: str, open_: str, schedule_id: str
) -> RunSummary:
    """Find a page, open its cases, until the last page; then record the run's counts."""
    # The run's own key, the same across its retries and continue-as-new: the schedule
    # names its runs by the second, so two triggers within one second share a workflow id
    # (one after the other); the first run id tells them apart.
    info = workflow.info()
    run_key = f"{info.workflow_id}/{info.first_execution_run_id}"
    today = arg.today or workflow.now().date().isoformat()
    after, due = arg.after, arg.items_due
    while True:
        query = DueQuery(today, arg.plan_id, arg.lead_days, after, arg.batch_size)
        page = await calls.find_due(find, query)
        if page.items:
            await calls.open_due(open_, OpenDue(run_key, page.items, arg.plan_id))
        due += len(page.items)
        if page.next_after is None:
            break
        after = page.next_after
        if workflow.info().is_continue_as_new_suggested():
            carried = dataclasses.replace(arg, after=after, items_due=due, today=today)
            workflow.continue_as_new(carried)
    at = workflow.now().isoformat()
    record = RunRecord(run_key, schedule_id, at, due, arg.plan_id)
    return await calls.record_scheduled_run(record)


@workflow.defn(name="MaintenanceRunWorkflow")
class MaintenanceRunWorkflow:
    """One run of a maintenance plan: a case with a work order for every asset falling due."""

    @workflow.run
    async def run(self, arg: ScheduledRunInput) -> RunSummary:
        if arg.plan_id is None:
            raise ApplicationError("a maintenance run needs its plan_id", non_retryable=True)
        return await run_in_pages(
            arg,
            find="find_due_assets",
            open_="open_maintenance_cases",
            schedule_id=plan_schedule_id(arg.plan_id),
        )


@workflow.defn(name="EntitlementExpiryWorkflow")
class EntitlementExpiryWorkflow:
    """One run of the expiry schedule: a case for every entitlement ending within lead_days."""

    @workflow.run
    async def run(self, arg: ScheduledRunInput) -> RunSummary:
        return await run_in_pages(
            arg,
            find="find_expiring_entitlements",
            open_="open_expiry_cases",
            schedule_id=EXPIRY_SCHEDULE_ID,
        )
