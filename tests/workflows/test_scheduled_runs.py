"""Scheduled runs on the time-skipping server, started as their schedules would start them:
a maintenance plan's run opens one case with a pre-filled work order per asset due, page by
page, and a second run for the same due dates opens none; the expiry run opens one case per
entitlement ending within the lead time, however often it runs."""

import uuid
from datetime import date, timedelta

from sqlalchemy import select

from models.cases import Case
from models.customers import Asset
from models.field_service import WorkOrder
from tests import factories as f
from tests.conftest import make_deps
from tests.workflows.field_helpers import field_worker
from workflows.scheduled import EntitlementExpiryWorkflow, MaintenanceRunWorkflow
from workflows.scheduled_types import RunSummary, ScheduledRunInput


async def run(env, tq, workflow, arg) -> RunSummary:
    """A run to its end, the clock held still: waiting on a result would let the server skip
    to the opened cases' next timers, days ahead of the due dates."""
    with env.auto_time_skipping_disabled():
        return await env.client.execute_workflow(
            workflow, arg, id=f"run-{uuid.uuid4().hex[:8]}", task_queue=tq
        )


async def test_two_runs_of_a_plan_open_one_case_per_asset(sessions, ts_env):
    acct = await f.account(sessions)
    await f.contact(sessions, acct.id)
    boiler, pump = await f.product(sessions, "Boiler"), await f.product(sessions, "Pump")
    owned = [
        Asset(
            id=uuid.uuid4(),
            product_id=boiler.id,
            serial=f"B-{n}",
            account_id=acct.id,
            location=f"{n} Main St",
            territory="Springfield",
        )
        for n in range(5)
    ]
    unowned = Asset(id=uuid.uuid4(), product_id=boiler.id, serial="B-spare")
    other = Asset(id=uuid.uuid4(), product_id=pump.id, serial="P-1", account_id=acct.id)
    await f.add(sessions, *owned, unowned, other)
    plan = await f.maintenance_plan(sessions, boiler.id, skills=["gas"], parts=["filter kit"])
    arg = ScheduledRunInput(plan_id=str(plan.id), batch_size=2)  # three pages
    async with field_worker(ts_env.client, make_deps(sessions)) as tq:
        first = await run(ts_env, tq, MaintenanceRunWorkflow.run, arg)
        second = await run(ts_env, tq, MaintenanceRunWorkflow.run, arg)
        assert (first.items_due, first.cases_opened) == (5, 5)
        assert (second.items_due, second.cases_opened) == (5, 0)
        async with sessions() as db:
            cases = (await db.execute(select(Case))).scalars().all()
            orders = (await db.execute(select(WorkOrder))).scalars().all()
        assert sorted(c.asset_id for c in cases) == sorted(a.id for a in owned)
        assert {c.channel for c in cases} == {"event"}
        by_asset = {a.id: a for a in owned}
        assert len(orders) == 5
        for wo in orders:
            asset = by_asset[wo.asset_id]
            assert (wo.location, wo.territory) == (asset.location, asset.territory)
            assert (wo.required_skills, wo.parts) == (["gas"], ["filter kit"])


async def test_an_ending_entitlement_opens_one_case_however_often_expiry_runs(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    today = date.today()
    ending = await f.entitlement(sessions, "Gold", account_id=acct.id, ends_on=today + timedelta(5))
    await f.entitlement(sessions, "Later", account_id=acct.id, ends_on=today + timedelta(90))
    await f.entitlement(sessions, "Product-wide", product_id=(await f.product(sessions)).id)
    arg = ScheduledRunInput(lead_days=30)
    async with field_worker(ts_env.client, make_deps(sessions)) as tq:
        runs = [await run(ts_env, tq, EntitlementExpiryWorkflow.run, arg) for _ in range(2)]
        assert [(r.items_due, r.cases_opened) for r in runs] == [(1, 1), (1, 0)]
        async with sessions() as db:
            (case,) = (await db.execute(select(Case))).scalars().all()
        assert (case.account_id, case.contact_id) == (acct.id, ada.id)
        assert case.subject == f"Entitlement Gold ends on {ending.ends_on.isoformat()}: renewal"


async def test_a_case_intake_refuses_frees_its_key_and_the_page_still_opens(sessions, ts_env):
    """A page of two due cases, one of which names a product that is gone (its insert breaks
    a foreign key): the other opens, with its workflow; the refused one leaves no case and
    no key, so a later run may open it once the data is right."""
    from temporalio.testing import ActivityEnvironment

    from activities.scheduled_cases import Due, open_once
    from models.scheduled import ScheduledCase
    from tests.workflows.helpers import described
    from workflows.types import NewCase
    from workflows.upkeep import CHANNEL

    bea = await f.consumer(sessions, "Bea", email="bea@x.test")
    today = date.today()
    gone = str(uuid.uuid4())
    dues = [
        Due(f"ok:{uuid.uuid4()}", today, NewCase("Service", CHANNEL, consumer_id=str(bea.id))),
        Due(f"gone:{uuid.uuid4()}", today, NewCase("Service", CHANNEL, product_id=gone)),
    ]
    opened = await ActivityEnvironment(client=ts_env.client).run(
        open_once, make_deps(sessions), "run-test", dues
    )
    assert opened == 1
    async with sessions() as db:
        keys = (await db.execute(select(ScheduledCase))).scalars().all()
        (case,) = (await db.execute(select(Case))).scalars().all()
    assert [k.key for k in keys] == [dues[0].key] and keys[0].case_id == case.id
    assert case.state == "open"
    handle = ts_env.client.get_workflow_handle(case.workflow_id)
    assert (await described(handle)).type.name == "CaseWorkflow"
