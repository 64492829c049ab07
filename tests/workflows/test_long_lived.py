"""A long-lived case: thousands of events and many reopenings cross continue-as-new
boundaries with no action lost or applied twice."""

import asyncio
from collections import Counter

from sqlalchemy import select

from api.services.intake import open_case
from models.cases import CaseEvent
from tests import factories as f
from tests.conftest import make_deps, running_worker
from tests.workflows.helpers import act, described, row, wait_row
from workflows.case import CaseWorkflow


async def test_continues_as_new_without_losing_or_repeating_actions(sessions, fresh_env):
    client = fresh_env.client
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    await f.agent(sessions, "Ann", capacity=10)
    async with running_worker(client, make_deps(sessions)) as tq:
        case = await _open_with_limit(sessions, client, tq, ada, history_limit=150)
        await wait_row(sessions, case.id, lambda c: c.assigned_agent_id)
        notes = 0
        for cycle in range(12):
            # A burst of concurrent notes, some of which straddle a continue-as-new.
            await asyncio.gather(
                *(act(client, case, "note", body=f"note {cycle}-{i}") for i in range(25))
            )
            notes += 25
            await act(client, case, "resolve", body=f"fixed {cycle}")
            await act(client, case, "reject", role="contact", reason=f"no {cycle}")
        handle = client.get_workflow_handle(case.workflow_id)
        info = await described(handle)
        assert info.execution.run_id != info.first_run_id
        got = await row(sessions, case.id)
        assert (got.state, got.reopen_count) == ("open", 12)
        async with sessions() as db:
            events = (
                (await db.execute(select(CaseEvent).where(CaseEvent.case_id == case.id)))
                .scalars()
                .all()
            )
        kinds = Counter(e.kind for e in events)
        assert kinds["note"] == notes and kinds["resolve"] == 12 and kinds["reject"] == 12
        bodies = Counter(e.body for e in events if e.kind == "note")
        assert all(n == 1 for n in bodies.values()) and len(bodies) == notes
        state = await handle.query(CaseWorkflow.state)
        assert state.reopen_count == 12 and state.assigned_agent_id == str(got.assigned_agent_id)


async def _open_with_limit(sessions, client, tq, who, *, history_limit):
    opening = await open_case(
        sessions=sessions,
        client=client,
        task_queue=tq,
        fields={"subject": "Long", "channel": "email", "contact_id": who.id},
        history_limit=history_limit,
    )
    return await row(sessions, opening.case_id)
