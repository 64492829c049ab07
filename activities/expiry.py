"""The entitlement expiry run: an entitlement ending within the lead time opens one proactive
case for its customer (its account's team is routed first), once per entitlement and end date."""

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.identity import primary_account
from activities.scheduled_cases import Due, account_contact
from models.customers import Asset
from models.service import Entitlement
from workflows.scheduled_types import DueItem, DuePage, DueQuery, OpenDue
from workflows.types import NewCase
from workflows.upkeep import CHANNEL, expiry_key, expiry_window


async def expiring(db: AsyncSession, q: DueQuery) -> DuePage:
    first, last = expiry_window(date.fromisoformat(q.today), q.lead_days)
    page = (
        select(Entitlement.id, Entitlement.ends_on)
        .where(Entitlement.active.is_(True), Entitlement.ends_on.between(first, last))
        .order_by(Entitlement.id)
        .limit(q.limit)
    )
    if q.after:
        page = page.where(Entitlement.id > uuid.UUID(q.after))
    rows = (await db.execute(page)).all()
    items = [DueItem(str(i), ends_on.isoformat()) for i, ends_on in rows if ends_on]
    return DuePage(items, items[-1].id if len(rows) == q.limit else None)


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


async def customer_of(db: AsyncSession, ent: Entitlement) -> dict[str, uuid.UUID | None]:
    """Whose entitlement it is: the account (with a contact), or the consumer; the grain's
    owner for an asset's. A product-wide entitlement has no one customer: none."""
    account, contact, consumer = ent.account_id, ent.contact_id, ent.consumer_id
    if ent.asset_id is not None and not (account or contact or consumer):
        asset = await db.get(Asset, ent.asset_id)
        account, consumer = (asset.account_id, asset.consumer_id) if asset else (None, None)
    if contact is not None and account is None:
        account = await primary_account(db, contact)
    if account is not None and contact is None:
        contact = await account_contact(db, account)
    return {"account_id": account, "contact_id": contact, "consumer_id": consumer}


async def expiry_cases(db: AsyncSession, arg: OpenDue) -> list[Due]:
    ids = [uuid.UUID(i.id) for i in arg.items]
    found = {
        e.id: e
        for e in (await db.execute(select(Entitlement).where(Entitlement.id.in_(ids)))).scalars()
    }
    dues = []
    for item in arg.items:
        ent = found.get(uuid.UUID(item.id))
        if ent is None or ent.ends_on is None:
            continue
        who = await customer_of(db, ent)
        if not any(who.values()):
            continue
        ends_on = ent.ends_on
        new = NewCase(
            subject=f"Entitlement {ent.name} ends on {ends_on.isoformat()}: renewal",
            channel=CHANNEL,
            description=f"The {ent.tier} entitlement {ent.name} ends on {ends_on.isoformat()}.",
            account_id=_text(who["account_id"]),
            contact_id=_text(who["contact_id"]),
            consumer_id=_text(who["consumer_id"]),
            product_id=_text(ent.product_id),
            asset_id=_text(ent.asset_id),
            category={"issue_type": "renewal"},
        )
        dues.append(Due(expiry_key(str(ent.id), ends_on), ends_on, new, entitlement_id=ent.id))
    return dues
