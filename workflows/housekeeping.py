"""HousekeepingWorkflow: the daily purge of sign-in rows whose use has ended, on a Schedule.

Ended sessions (expired or revoked) and sign-in links (expired or used) are kept
`CASEWORK_PURGE_AFTER_DAYS` for the session list and the "already used" page, then deleted,
a batch per activity call until none is left (so no call holds a long transaction), and at
most MAX_ROUNDS calls per run: what is left waits for the next day's run.
"""

from temporalio import workflow

from workflows import calls
from workflows.housekeeping_types import PurgeInput, PurgeResult

HOUSEKEEPING_SCHEDULE_ID = "housekeeping"
MAX_ROUNDS = 100


@workflow.defn(name="HousekeepingWorkflow")
class HousekeepingWorkflow:
    @workflow.run
    async def run(self, arg: PurgeInput) -> PurgeResult:
        total = PurgeResult()
        for _ in range(MAX_ROUNDS):
            got = await calls.purge_ended_sign_ins(arg)
            total.sessions += got.sessions
            total.links += got.links
            if not got.more:
                break
        else:
            total.more = True
        return total
