"""Customers and what they own: accounts (and their teams), contacts, consumers, products,
assets."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.pagination import page
from api.schemas.catalog import (
    AccountCreate,
    AccountRead,
    AssetCreate,
    AssetRead,
    ConsumerCreate,
    ConsumerRead,
    ContactCreate,
    ContactRead,
    ProductCreate,
    ProductRead,
    TeamMemberCreate,
    TeamMemberRead,
)
from api.services.catalog.common import check_refs, one, save
from models.customers import Account, AccountContact, Asset, Consumer, Contact, Product
from models.participants import bouncing
from models.people import AccountTeamMember, Agent


async def create_account(*, db: AsyncSession, body: AccountCreate) -> AccountRead:
    await check_refs(db, parent_id=(Account, body.parent_id))
    account = Account(id=uuid.uuid4(), **body.model_dump())
    await save(db, account, conflict="the account conflicts with an existing one")
    return AccountRead.model_validate(account)


async def put_team_member(
    *, db: AsyncSession, account_id: uuid.UUID, body: TeamMemberCreate
) -> tuple[TeamMemberRead, bool]:
    """Add an agent to the account team or change their role there; True when added."""
    await one(db, Account, account_id)
    await check_refs(db, agent_id=(Agent, body.agent_id))
    member = await db.get(AccountTeamMember, (account_id, body.agent_id))
    added = member is None
    if added:
        member = AccountTeamMember(account_id=account_id, agent_id=body.agent_id, role=body.role)
    else:
        member.role = body.role
    await save(db, member, conflict="the agent was just added to this team")
    return TeamMemberRead.model_validate(member), added


async def team(*, db: AsyncSession, account_id: uuid.UUID) -> dict:
    await one(db, Account, account_id)
    rows = await db.scalars(
        select(AccountTeamMember)
        .where(AccountTeamMember.account_id == account_id)
        .order_by(AccountTeamMember.role, AccountTeamMember.agent_id)
    )
    return {"items": [TeamMemberRead.model_validate(r) for r in rows], "next_cursor": None}


def contact_read(contact: Contact, links: list[AccountContact]) -> ContactRead:
    links = sorted(links, key=lambda link: not link.primary)
    primary = next((link.account_id for link in links if link.primary), None)
    return ContactRead(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        account_ids=[link.account_id for link in links],
        primary_account_id=primary,
        created_at=contact.created_at,
        merged_into_id=contact.merged_into_id,
    )


async def links_of(db: AsyncSession, contact_ids: list[uuid.UUID]) -> dict:
    links: dict[uuid.UUID, list[AccountContact]] = {i: [] for i in contact_ids}
    rows = await db.scalars(
        select(AccountContact).where(AccountContact.contact_id.in_(contact_ids))
    )
    for link in rows:
        links[link.contact_id].append(link)
    return links


async def create_contact(*, db: AsyncSession, body: ContactCreate) -> ContactRead:
    await check_refs(db, account_ids=(Account, body.account_ids))
    contact = Contact(id=uuid.uuid4(), name=body.name, email=body.email, phone=body.phone)
    links = [
        AccountContact(contact_id=contact.id, account_id=account_id, primary=i == 0)
        for i, account_id in enumerate(body.account_ids)
    ]
    await save(db, contact, *links, conflict=f"a contact with email {body.email} exists")
    return contact_read(contact, links)


async def contacts(*, db: AsyncSession, limit: int, cursor: str | None) -> tuple[list, dict]:
    """A page of contacts (one more than `limit`) and their account links."""
    live = select(Contact).where(Contact.merged_into_id.is_(None))  # merged ones left the list
    rows = list((await db.scalars(page(live, Contact, limit, cursor))).all())
    return rows, await links_of(db, [c.id for c in rows])


async def get_contact(*, db: AsyncSession, contact_id: uuid.UUID) -> ContactRead:
    contact = await one(db, Contact, contact_id)
    read = contact_read(contact, (await links_of(db, [contact.id]))[contact.id])
    read.email_bouncing = (await bouncing(db, [contact.email])).get(contact.email.lower())
    return read


async def create_consumer(*, db: AsyncSession, body: ConsumerCreate) -> ConsumerRead:
    consumer = Consumer(id=uuid.uuid4(), **body.model_dump())
    await save(db, consumer, conflict=f"a consumer with email {body.email} exists")
    return ConsumerRead.model_validate(consumer)


async def create_product(*, db: AsyncSession, body: ProductCreate) -> ProductRead:
    product = Product(id=uuid.uuid4(), **body.model_dump())
    await save(db, product, conflict=f"a product with sku {body.sku} exists")
    return ProductRead.model_validate(product)


async def create_asset(*, db: AsyncSession, body: AssetCreate) -> AssetRead:
    await check_refs(
        db,
        product_id=(Product, body.product_id),
        account_id=(Account, body.account_id),
        consumer_id=(Consumer, body.consumer_id),
    )
    asset = Asset(id=uuid.uuid4(), **body.model_dump())
    await save(db, asset, conflict="an asset of this product has this serial already")
    return AssetRead.model_validate(asset)
