"""Maintenance plans: a row and its Temporal Schedule, made together or not at all."""

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import not_found
from api.schemas.maintenance import (
    MaintenancePlanCreate,
    MaintenancePlanRead,
    MaintenanceRunRead,
    MaintenanceTriggered,
)
from api.services.catalog.common import check_refs
from casework import schedules
from casework.settings import Settings
from models.customers import Asset, Product
from models.scheduled import MaintenancePlan, ScheduledRun
from workflows.upkeep import plan_schedule_id

log = logging.getLogger("casework.api.maintenance")


async def create(
    *, db: AsyncSession, client: Client, settings: Settings, body: MaintenancePlanCreate
) -> MaintenancePlanRead:
    """422 naming unknown ids; else the row, then its schedule, then the commit. A failed
    schedule leaves no row (rolled back); a failed commit deletes the schedule again."""
    await check_refs(db, product_id=(Product, body.product_id), asset_ids=(Asset, body.asset_ids))
    plan_id = uuid.uuid4()
    plan = MaintenancePlan(
        id=plan_id,
        schedule_id=plan_schedule_id(str(plan_id)),
        **body.model_dump(exclude={"asset_ids"}),
        asset_ids=[str(i) for i in body.asset_ids],
    )
    db.add(plan)
    await db.flush()
    try:
        await schedules.create_plan_schedule(client, str(plan_id), settings)
    except BaseException:
        await db.rollback()
        raise
    try:
        await db.commit()
    except BaseException:
        await schedules.delete_schedule(client, plan.schedule_id)
        raise
    return await read(db=db, client=client, plan_id=plan_id)


async def read(*, db: AsyncSession, client: Client, plan_id: uuid.UUID) -> MaintenancePlanRead:
    """The plan with its schedule's next run (from Temporal) and its last run (recorded)."""
    plan = await db.get(MaintenancePlan, plan_id)
    if plan is None:
        raise not_found("maintenance plan")
    last = (
        await db.execute(
            select(ScheduledRun)
            .where(ScheduledRun.plan_id == plan.id)
            .order_by(ScheduledRun.at.desc())
            .limit(1)
        )
    ).scalar()
    view = MaintenancePlanRead.model_validate(plan)
    view.next_run_at = await schedules.next_run_at(client, plan.schedule_id)
    if last is not None:
        view.last_run = MaintenanceRunRead(
            at=last.at, assets_due=last.items_due, cases_opened=last.cases_opened
        )
    return view


async def trigger(*, db: AsyncSession, client: Client, plan_id: uuid.UUID) -> MaintenanceTriggered:
    plan = await db.get(MaintenancePlan, plan_id)
    if plan is None:
        raise not_found("maintenance plan")
    await schedules.trigger(client, plan.schedule_id)
    return MaintenanceTriggered(schedule_id=plan.schedule_id)
