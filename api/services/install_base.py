"""A customer's install base: the assets they (a consumer) or their accounts and sub-accounts
(a contact) own, their products, and the work orders still open on them."""

import uuid

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.visibility import contact_accounts
from models.customers import Asset, Product
from models.field_service import WorkOrder
from workflows.vocabulary import WORK_ORDER_OPEN, Role

MAX_ASSETS = 500  # a picker's worth; a customer with more searches by serial instead


async def owned_by(db: AsyncSession, who: Principal) -> ColumnElement[bool]:
    """The assets `who` may pick and see (none for staff: they have no install base)."""
    if who.role == Role.CONTACT and who.subject_id:
        return Asset.account_id.in_(await contact_accounts(db, who.subject_id))
    if who.role == Role.CONSUMER and who.subject_id:
        return Asset.consumer_id == who.subject_id
    return false()


async def assets(db: AsyncSession, who: Principal) -> list[tuple[Asset, Product]]:
    """The customer's assets with their products, by product name then serial."""
    query = (
        select(Asset, Product)
        .join(Product, Product.id == Asset.product_id)
        .where(await owned_by(db, who))
        .order_by(Product.name, Asset.serial, Asset.id)
        .limit(MAX_ASSETS)
    )
    return [(a, p) for a, p in (await db.execute(query)).all()]


async def product_ids(db: AsyncSession, who: Principal) -> list[uuid.UUID]:
    """The products of the customer's assets: the articles search favours."""
    query = select(Asset.product_id).where(await owned_by(db, who)).distinct()
    return list(await db.scalars(query))


async def open_work_orders(db: AsyncSession, who: Principal) -> list[WorkOrder]:
    """Work orders not yet completed or cancelled on the customer's assets, oldest first."""
    query = (
        select(WorkOrder)
        .join(Asset, Asset.id == WorkOrder.asset_id)
        .where(await owned_by(db, who), WorkOrder.state.in_(WORK_ORDER_OPEN))
        .order_by(WorkOrder.created_at)
        .limit(MAX_ASSETS)
    )
    return list(await db.scalars(query))
