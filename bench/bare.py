"""The baselines: bare workflows with nothing of Casework in them, and their worker process.

- `BareWorkflow`: start, one no-op activity, complete (the intake baseline).
- `BareUpdateWorkflow`: waits; a trivial update with a validator (the action baseline).
- `BareOpenWorkflow`: started by update-with-start; its `open` update runs one no-op local
  activity (the baseline of POST /cases, which is one update-with-start whose update runs
  intake as one local activity).

`python -m bench.bare` runs their worker: a process shaped like `casework worker` (one
Temporal client, one Worker, the same sandboxed runner and cache size) polling its own task
queue (BENCH_BARE_TASK_QUEUE) on TEMPORAL_ADDRESS. Module top level has no side effects.
"""

from __future__ import annotations

import os
from datetime import timedelta

import uvloop
from temporalio import activity, workflow

BARE_TASK_QUEUE = "bench-bare"


@activity.defn(name="bare_noop")
async def bare_noop() -> None:
    return None


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity("bare_noop", start_to_close_timeout=timedelta(seconds=60))
        return "done"


@workflow.defn(name="BareUpdateWorkflow")
class BareUpdateWorkflow:
    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.count

    @workflow.update(name="touch")
    async def touch(self, body: str) -> int:
        self.count += 1
        return self.count

    @touch.validator
    def _validate(self, body: str) -> None:
        if not body:
            raise ValueError("body is required")

    @workflow.signal(name="finish")
    def finish(self) -> None:
        self.done = True


@workflow.defn(name="BareOpenWorkflow")
class BareOpenWorkflow:
    def __init__(self) -> None:
        self.opened = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.opened)
        return "opened"

    @workflow.update(name="open")
    async def open(self) -> str:
        await workflow.execute_local_activity(
            "bare_noop", start_to_close_timeout=timedelta(seconds=60)
        )
        self.opened = True
        return "opened"


async def serve(address: str, task_queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from workflows.sandbox import workflow_runner

    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow, BareUpdateWorkflow, BareOpenWorkflow],
        activities=[bare_noop],
        max_cached_workflows=2000,  # as casework.worker.build_worker
        workflow_runner=workflow_runner(),
    )
    await worker.run()


def main() -> None:
    uvloop.run(  # as casework.worker.main
        serve(
            os.environ["TEMPORAL_ADDRESS"],
            os.environ.get("BENCH_BARE_TASK_QUEUE", BARE_TASK_QUEUE),
        )
    )


if __name__ == "__main__":
    main()
