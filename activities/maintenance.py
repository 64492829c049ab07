"""A maintenance plan's run: find its assets falling due, open one case (with its work order)
per asset and due date. An asset counts as maintained when a work order of a case this plan
opened for it is completed; the next due date is `every_days` after that completion."""

import uuid
from dataclasses import asdict
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from activities.db import NOT_FOUND
from activities.scheduled_cases import Due, account_contact
from models.customers import Asset, Product
from models.field_service import WorkOrder
from models.scheduled import MaintenancePlan, ScheduledCase
from workflows.actions import FieldServiceRequest
from workflows.scheduled_types import DueItem, DuePage, DueQuery, OpenDue
from workflows.types import NewCase
from workflows.upkeep import CHANNEL, falls_due, maintenance_due, maintenance_key
from workflows.vocabulary import WorkOrderState


async def plan_of(db: AsyncSession, plan_id: str | None) -> MaintenancePlan:
    plan = await db.get(MaintenancePlan, uuid.UUID(plan_id)) if plan_id else None
    if plan is None:  # deleted since its schedule fired: no retry brings it back
        raise ApplicationError(f"no maintenance plan {plan_id}", type=NOT_FOUND, non_retryable=True)
    return plan


def assets_of(plan: MaintenancePlan) -> Select[uuid.UUID]:
    """The plan's assets that have an owner to serve (an unowned asset has no one to call)."""
    owned = or_(Asset.account_id.is_not(None), Asset.consumer_id.is_not(None))
    if plan.product_id is not None:
        return select(Asset.id).where(Asset.product_id == plan.product_id, owned)
    ids = [uuid.UUID(i) for i in plan.asset_ids]
    return select(Asset.id).where(Asset.id.in_(ids), owned)


async def last_maintained(
    db: AsyncSession, plan_id: uuid.UUID, asset_ids: list[uuid.UUID]
) -> dict[uuid.UUID, date]:
    """Each asset's last completed work order among the cases this plan opened for it."""
    rows = await db.execute(
        select(ScheduledCase.asset_id, func.max(WorkOrder.completed_at))
        .join(WorkOrder, WorkOrder.case_id == ScheduledCase.case_id)
        .where(
            ScheduledCase.plan_id == plan_id,
            ScheduledCase.asset_id.in_(asset_ids),
            WorkOrder.state == WorkOrderState.COMPLETED,
        )
        .group_by(ScheduledCase.asset_id)
    )
    return {a: at.date() for a, at in rows.all() if a is not None and at is not None}


async def due_assets(db: AsyncSession, q: DueQuery) -> DuePage:
    plan = await plan_of(db, q.plan_id)
    page = assets_of(plan).order_by(Asset.id).limit(q.limit)
    if q.after:
        page = page.where(Asset.id > uuid.UUID(q.after))
    ids = list((await db.execute(page)).scalars())
    done = await last_maintained(db, plan.id, ids)
    today, start = date.fromisoformat(q.today), plan.created_at.date()
    items = []
    for asset_id in ids:
        due = maintenance_due(
            last_maintained=done.get(asset_id), plan_start=start, every_days=plan.every_days
        )
        if falls_due(due, today, plan.lead_days):
            items.append(DueItem(str(asset_id), due.isoformat()))
    next_after = str(ids[-1]) if len(ids) == q.limit else None
    return DuePage(items, next_after)


async def maintenance_cases(db: AsyncSession, arg: OpenDue) -> list[Due]:
    """Each due asset's case: for its owner, with the plan's work order pre-filled from the
    asset (its location and territory fill in when the work order is created)."""
    plan = await plan_of(db, arg.plan_id)
    ids = [uuid.UUID(i.id) for i in arg.items]
    rows = await db.execute(
        select(Asset, Product.name)
        .join(Product, Product.id == Asset.product_id)
        .where(Asset.id.in_(ids))
    )
    found = {asset.id: (asset, product) for asset, product in rows.all()}
    dues = []
    for item in arg.items:
        if (got := found.get(uuid.UUID(item.id))) is None:
            continue  # deleted since it was found due
        asset, product = got
        due_on = date.fromisoformat(item.due_on)
        what = f"{product} {asset.serial}" if asset.serial else product
        visit = FieldServiceRequest(
            skills=list(plan.skills),
            parts=list(plan.parts),
            notes=f"Preventive maintenance ({plan.name}) of {what}, due {due_on.isoformat()}.",
        )
        contact = await account_contact(db, asset.account_id) if asset.account_id else None
        new = NewCase(
            subject=f"Scheduled maintenance of {what}: due {due_on.isoformat()}",
            channel=CHANNEL,
            description=f"{plan.name}: maintenance every {plan.every_days} days.",
            contact_id=str(contact) if contact else None,
            account_id=str(asset.account_id) if asset.account_id else None,
            consumer_id=str(asset.consumer_id) if asset.consumer_id else None,
            product_id=str(asset.product_id),
            asset_id=str(asset.id),
            category={"issue_type": "maintenance"},
            required_skills=list(plan.skills),
            field_service=asdict(visit),
        )
        key = maintenance_key(str(plan.id), str(asset.id), due_on)
        dues.append(Due(key, due_on, new, plan_id=plan.id, asset_id=asset.id))
    return dues
