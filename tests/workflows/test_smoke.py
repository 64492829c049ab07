import asyncio

from sqlalchemy import select

from api.case_service import open_case
from models.cases import Case, Notification
from tests import factories as f
from tests.conftest import make_deps, running_worker


async def test_case_opens_and_routes(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    await f.agent(sessions, "Ann")
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        case = await open_case(
            sessions=sessions,
            client=ts_env.client,
            task_queue=tq,
            fields={"subject": "Router down", "channel": "email", "contact_id": ada.id},
        )
        for _ in range(100):
            async with sessions() as db:
                row = await db.get(Case, case.id, populate_existing=True)
            if row.assigned_agent_id:
                break
            await asyncio.sleep(0.05)
        assert row.state == "open"
        assert row.assigned_agent_id is not None
        async with sessions() as db:
            notes = (await db.execute(select(Notification.template))).scalars().all()
        assert sorted(notes) == ["acknowledgement", "assignment"]
