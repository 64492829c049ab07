"""Which of a plan's assets a run finds due: never maintained (due at once), maintained by a
completed work order of the plan's case (due `every_days` later, found `lead_days` ahead);
unowned assets and other products' never; pages walk every asset once."""

import uuid
from datetime import UTC, date, datetime, timedelta

from activities.maintenance import due_assets
from models.customers import Asset
from models.field_service import WorkOrder
from models.scheduled import ScheduledCase
from tests import factories as f
from tests.activities import rows
from workflows.scheduled_types import DueQuery
from workflows.vocabulary import WorkOrderState

TODAY = date(2026, 11, 30)


async def maintained(sessions, plan, asset, n: int, days_ago: int, state=WorkOrderState.COMPLETED):
    """A case of the plan for the asset whose work order ended `days_ago`."""
    case = await rows.case(sessions, n, asset_id=asset.id)
    done = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC)
    await f.add(
        sessions,
        ScheduledCase(
            id=uuid.uuid4(),
            key=f"k{n}",
            case_id=case.id,
            number=case.number,
            plan_id=plan.id,
            asset_id=asset.id,
            due_on=TODAY,
            run_key="earlier",
        ),
        WorkOrder(
            id=uuid.uuid4(),
            number=f"WO{n:07d}",
            workflow_id=f"wo-{n}",
            request_key=f"r{n}",
            case_id=case.id,
            asset_id=asset.id,
            state=state,
            completed_at=done if state == WorkOrderState.COMPLETED else None,
        ),
    )


async def test_due_assets_by_last_maintenance_and_lead_days(sessions):
    acct = await f.account(sessions)
    boiler, pump = await f.product(sessions, "Boiler"), await f.product(sessions, "Pump")

    def asset(product, owned=True):
        return Asset(id=uuid.uuid4(), product_id=product.id, account_id=acct.id if owned else None)

    never, recent, soon, cancelled = (asset(boiler) for _ in range(4))
    unowned, other = asset(boiler, owned=False), asset(pump)
    await f.add(sessions, never, recent, soon, cancelled, unowned, other)
    plan = await f.maintenance_plan(
        sessions, boiler.id, created_at=datetime(2026, 11, 1, tzinfo=UTC)
    )
    await maintained(sessions, plan, recent, 1, days_ago=5)  # due in 25 days: not yet
    await maintained(sessions, plan, soon, 2, days_ago=25)  # due in 5 days: within 7
    await maintained(sessions, plan, cancelled, 3, days_ago=5, state=WorkOrderState.CANCELLED)

    found, after = {}, None
    for _ in range(10):
        async with sessions() as db:
            page = await due_assets(db, DueQuery(TODAY.isoformat(), str(plan.id), 0, after, 2))
        found |= {i.id: i.due_on for i in page.items}
        if page.next_after is None:
            break
        after = page.next_after
    assert found == {
        str(never.id): "2026-11-01",  # the plan's first day, on every run until maintained
        str(soon.id): (TODAY + timedelta(days=5)).isoformat(),
        str(cancelled.id): "2026-11-01",  # a cancelled visit maintains nothing
    }
