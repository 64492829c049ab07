"""Contacts: people of customer accounts."""

import uuid

from fastapi import APIRouter

from api.deps import Reader, SessionDep, Writer
from api.merging import merge_route
from api.pagination import CursorQ, LimitQ, result
from api.schemas.catalog import ContactCreate, ContactRead, Page
from api.services.catalog import customers
from workflows.vocabulary import MergeKind

router = APIRouter(tags=["contacts"])


@router.post("/contacts", status_code=201, response_model=ContactRead)
async def create_contact(body: ContactCreate, db: SessionDep, _: Writer):
    """An integration (or admin) adds a person at one or more customer accounts (the first is
    their primary one): the cases they open are that account's."""
    return await customers.create_contact(db=db, body=body)


@router.get("/contacts", response_model=Page[ContactRead])
async def list_contacts(db: SessionDep, _: Reader, limit: LimitQ = 50, cursor: CursorQ = None):
    """Contacts of every account, oldest first; keyset paging through `cursor`. Staff and
    integrations."""
    rows, links = await customers.contacts(db=db, limit=limit, cursor=cursor)
    return result(rows, limit, lambda c: customers.contact_read(c, links[c.id]))


@router.get("/contacts/{contact_id}", response_model=ContactRead)
async def get_contact(contact_id: uuid.UUID, db: SessionDep, _: Reader):
    """One contact: name, email, phone and account."""
    return await customers.get_contact(db=db, contact_id=contact_id)


merge_route(
    router,
    "contacts",
    MergeKind.CONTACT,
    """Move this contact's cases, entitlements, account memberships and portal tokens to
`into_id` in one transaction, keep an audit record, and tell each running case's
workflow. Mail from this contact's address then reaches the survivor. This contact keeps
`merged_into_id` and leaves the list. 422 into itself; 409 when either side was merged
already; 404 unknown ids.""",
)
