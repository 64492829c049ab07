"""HousekeepingWorkflow on the time-skipping server: batch after batch until nothing ended
is left, and the totals of what went."""

import uuid
from datetime import UTC, datetime, timedelta

from models.auth import WebSession
from tests import factories as f
from tests.activities.test_housekeeping import left, link, web_session
from tests.conftest import make_deps, running_worker
from workflows.housekeeping import HousekeepingWorkflow
from workflows.housekeeping_types import PurgeInput, PurgeResult


async def test_the_run_purges_batch_by_batch_and_counts(sessions, ts_env):
    now = datetime.now(UTC)
    await f.add(
        sessions,
        *(web_session(f"wf-old-{i}", expires=now - timedelta(days=30)) for i in range(3)),
        web_session("wf-live", expires=now + timedelta(hours=1)),
        link("wf-used", expires=now - timedelta(days=20), used=now - timedelta(days=20)),
    )
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        got = await ts_env.client.execute_workflow(
            HousekeepingWorkflow.run,
            PurgeInput(after_days=7, batch=2),  # two rounds for the three old sessions
            id=f"housekeeping-{uuid.uuid4().hex[:8]}",
            task_queue=tq,
            result_type=PurgeResult,
        )
    assert got == PurgeResult(sessions=3, links=1, more=False)
    assert await left(sessions, WebSession) == {uuid.uuid5(uuid.NAMESPACE_DNS, "wf-live")}
