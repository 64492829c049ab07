"""Who a customer is: the one place that finds (or makes) the customer behind an email address.

Intake resolves every case's requester here, and inbound mail calls the same path
(`customer_for_email`). The rules (keys in models/identity_keys.py):

1. A contact whose normalized email is the address; a merged contact answers with its
   survivor (the merged person's old address keeps reaching the right customer).
2. Else, the account that owns the address's domain (its own domain or a parent domain:
   `eu.acme.com` belongs to the account owning `acme.com`) gets a new contact.
3. Else a consumer, found or made by the address.

A contact found with no account at all is linked to the account owning its domain, so
intake pays off data debt rather than adding to it. Concurrent intakes of one new sender
make one contact: the insert yields to the one that came first.
"""

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import array, insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.customers import Account, AccountContact, Consumer, Contact
from models.identity_keys import email_key

MAX_CHAIN = 20  # a merge chain is path-compressed to one step; this only bounds a bad row
_CONTACT_BY_KEY = (
    select(Contact.id, Contact.name, Contact.merged_into_id)
    .where(Contact.email_key == bindparam("key"))
    # a survivor before a merged record, then the oldest (legacy rows may differ in case only)
    .order_by(Contact.merged_into_id.is_not(None), Contact.created_at, Contact.id)
    .limit(1)
)
_PRIMARY_ACCOUNT = (
    select(AccountContact.account_id)
    .where(AccountContact.contact_id == bindparam("contact"))
    .order_by(AccountContact.primary.desc())
    .limit(1)
)
_CONTACTS, _CONSUMERS = cast(Table, Contact.__table__), cast(Table, Consumer.__table__)
_ADD_CONTACT = (
    insert(_CONTACTS).on_conflict_do_nothing(index_elements=["email"]).returning(_CONTACTS.c.id)
)
_ADD_LINK = insert(cast(Table, AccountContact.__table__)).on_conflict_do_nothing()
_ADD_CONSUMER = (
    insert(_CONSUMERS).on_conflict_do_nothing(index_elements=["email"]).returning(_CONSUMERS.c.id)
)
# Consumers are stored with the normalized address (the API and this module write them so).
_CONSUMER_BY_EMAIL = select(Consumer.id).where(Consumer.email == bindparam("key"))


@dataclass
class Customer:
    """Who an address belongs to: a contact (and their account), or a consumer."""

    contact_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    consumer_id: uuid.UUID | None = None
    name: str | None = None  # a known contact's name
    created: bool = False  # a contact or consumer was made for the address


async def survivor(
    db: AsyncSession, model: type[Account] | type[Contact], item_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The record that `item_id` was merged into (itself when it was not merged).

    The live record is read FOR KEY SHARE: a merge of it (which locks it FOR UPDATE) waits
    for this transaction, or this read waits for the merge and follows it, so a case that
    intake is writing is never left pointing at a record merged meanwhile.
    """
    seen = 0
    while item_id is not None and seen < MAX_CHAIN:
        query = select(model.merged_into_id).where(model.id == item_id)
        into = (await db.execute(query.with_for_update(read=True, key_share=True))).scalar()
        if into is None:
            return item_id
        item_id, seen = into, seen + 1
    return item_id


async def primary_account(db: AsyncSession, contact_id: uuid.UUID) -> uuid.UUID | None:
    return (await db.execute(_PRIMARY_ACCOUNT, {"contact": contact_id})).scalar()


def domains_of(address: str) -> list[str]:
    """The address's domain and its parent domains, most specific first (never a bare TLD)."""
    labels = address.rpartition("@")[2].strip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


async def account_for_domain(db: AsyncSession, address: str) -> uuid.UUID | None:
    """The live account owning the address's domain: the most specific domain wins, then the
    oldest account (two accounts claiming one domain is data debt, but the answer is stable)."""
    candidates = domains_of(address)
    if not candidates:
        return None
    rows = await db.execute(
        select(Account.id, Account.domains)
        .where(Account.merged_into_id.is_(None), Account.domains.has_any(array(candidates)))
        .order_by(Account.created_at, Account.id)
    )
    best, best_rank = None, len(candidates)
    for account_id, domains in rows.all():
        rank = min(candidates.index(d) for d in domains if d in candidates)
        if rank < best_rank:
            best, best_rank = account_id, rank
    return best


async def contact_by_email(db: AsyncSession, address: str) -> tuple[uuid.UUID, str] | None:
    """(id, name) of the live contact with this address (a merged one's survivor)."""
    found = (await db.execute(_CONTACT_BY_KEY, {"key": email_key(address)})).first()
    if found is None:
        return None
    if found.merged_into_id is None:
        return found.id, found.name
    live = await survivor(db, Contact, found.merged_into_id) or found.merged_into_id
    name = (await db.execute(select(Contact.name).where(Contact.id == live))).scalar_one()
    return live, name


async def customer_for_email(db: AsyncSession, address: str, name: str | None = None) -> Customer:
    """Find or make the customer behind `address`, in the caller's transaction (see above)."""
    key = email_key(address)
    known = await contact_by_email(db, key)
    if known is not None:
        contact_id, contact_name = known
        account_id = await primary_account(db, contact_id)
        if account_id is None and (account_id := await account_for_domain(db, key)):
            await _link(db, contact_id, account_id)
        return Customer(contact_id, account_id, name=contact_name)
    name = name or key.partition("@")[0]
    if account_id := await account_for_domain(db, key):
        values = {"id": uuid.uuid4(), "name": name, "email": key}
        made = (await db.execute(_ADD_CONTACT, values)).scalar()
        contact_id = made or (await db.execute(_CONTACT_BY_KEY, {"key": key})).one().id
        await _link(db, contact_id, account_id)
        return Customer(contact_id, account_id, created=made is not None)
    consumer_id = (await db.execute(_CONSUMER_BY_EMAIL, {"key": key})).scalar()
    made = None
    if consumer_id is None:
        values = {"id": uuid.uuid4(), "name": name, "email": key, "addresses": []}
        made = (await db.execute(_ADD_CONSUMER, values)).scalar()
        consumer_id = made or (await db.execute(_CONSUMER_BY_EMAIL, {"key": key})).scalar()
    return Customer(consumer_id=consumer_id, created=made is not None)


async def _link(db: AsyncSession, contact_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Make the account the contact's primary one (the contact has no account yet)."""
    await db.execute(
        _ADD_LINK, {"contact_id": contact_id, "account_id": account_id, "primary": True}
    )


async def resolve_customer(db: AsyncSession, case: SimpleNamespace) -> None:
    """Fill contact/account/consumer from what the case came with (contact id or an email);
    a merged contact or account given by id stands for its survivor."""
    if case.contact_id:
        case.contact_id = await survivor(db, Contact, case.contact_id)
        if case.account_id is None:
            case.account_id = await primary_account(db, case.contact_id)
    elif case.requester_email and not case.consumer_id:
        found = await customer_for_email(db, case.requester_email, case.requester_name)
        case.contact_id, case.account_id = found.contact_id, found.account_id
        case.consumer_id = found.consumer_id
        if found.name:
            case.requester_name = case.requester_name or found.name
        case.contact_id = await survivor(db, Contact, case.contact_id)
    case.account_id = await survivor(db, Account, case.account_id)
