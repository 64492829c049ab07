"""MajorCaseFanOutWorkflow: one step on a major case, then the same step for every child.

Three kinds (FanOutKind): OPEN an event's major case and a child case per affected customer;
RESOLVE the major case and every child still new, open or awaiting_info with its resolution;
BROADCAST a message to every child's customer once.

How it scales (10,000 customers and far beyond) without nearing Temporal's limits:
- The children are not Temporal child workflows of this one. Each batch is one activity that
  opens (OPEN: their intake in bulk, a transaction per INTAKE_CHUNK, then each workflow
  started with its intake done) or updates (RESOLVE) up to FAN_OUT_BATCH CaseWorkflows through
  the client,
  concurrently, with deterministic ids (`case-<number>` reserved in PostgreSQL when the event
  was posted; the update id is this workflow's id), or writes the timeline events and outbox
  rows of a batch in one transaction (BROADCAST, keyed by this workflow's id). The limit of
  2,000 pending children per workflow never applies, and a batch run twice (a worker killed
  mid-way, a retry) starts, resolves or sends nothing twice.
- A batch costs this history about six events (activity scheduled/started/completed and a
  workflow task) and carries only a cursor: 10,000 customers at 200 a batch are ~300 events
  and a few KB. Past BATCHES_PER_RUN batches (or when the server suggests it) the workflow
  continues as new with its cursor, so even millions of children keep every history far
  below 51,200 events and 50 MB.
- Which children a batch takes comes from PostgreSQL in a stable order (an event's customer
  `seq`, a child case's id) after the cursor: the plan is data, not history.

The major case and each child run the normal CaseWorkflow. Resolving together is this
workflow sending each child the ordinary `resolve` update; a major case, once resolved by
anyone, starts it as a child workflow of its own with its own step already done
(CaseWorkflow._resolve_children). A RESOLVE run without that step (started before 0.2.0)
still resolves the major case first.
"""

import dataclasses

from temporalio import workflow

from workflows import calls
from workflows.fan_out_types import (
    FanOutBatch,
    FanOutInput,
    FanOutResult,
    MajorStepResult,
    WhenStepped,
)

FAN_OUT_BATCH = 200
BATCHES_PER_RUN = 500


@workflow.defn(name="MajorCaseFanOutWorkflow")
class MajorCaseFanOutWorkflow:
    def __init__(self) -> None:
        self.step: MajorStepResult | None = None
        self.done = 0

    @workflow.run
    async def run(self, arg: FanOutInput) -> FanOutResult:
        self.step, self.done = arg.step, arg.done
        if self.step is None:
            self.step = await calls.major_case_step(arg.target())
        if not self.step.ok:  # the major case refused (say, resolved already): no fan-out
            await workflow.wait_condition(workflow.all_handlers_finished)
            return FanOutResult(self.step)
        after, batches = arg.after, 0
        size, per_run = arg.batch or FAN_OUT_BATCH, arg.batches_per_run or BATCHES_PER_RUN
        while True:
            batch = FanOutBatch(**vars(arg.target()), limit=size, after=after)
            got = await calls.fan_out_batch(batch)
            if got.count == 0:
                break
            after, self.done, batches = got.last, self.done + got.count, batches + 1
            if batches >= per_run or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    dataclasses.replace(arg, after=after, done=self.done, step=self.step)
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return FanOutResult(self.step, self.done)

    @workflow.update(name="major_step")
    async def major_step(self, _: WhenStepped) -> MajorStepResult:
        """How the major case's own step went: the API starts this workflow with this update
        (update-with-start), so it answers as the major case now is, in one round trip."""
        await workflow.wait_condition(lambda: self.step is not None)
        assert self.step is not None
        return self.step

    @workflow.query(name="progress")
    def progress(self) -> int:
        return self.done
