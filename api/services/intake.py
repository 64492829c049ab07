"""Open a case: check who it is for, then one update-with-start of its CaseWorkflow.

The API writes no case row: the workflow's intake inserts it, in the same transaction as
the customer resolution, the entitlement, the SLA clocks, the routing and the
acknowledgement. A kill of the API at any instant leaves either no case or a complete one.
An Idempotency-Key (namespaced by the caller) names the case it opened for 24 hours.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.case_start import start_case
from api import visibility
from api.auth import Principal
from api.errors import Problem
from api.schemas.cases import CaseCreate
from models.cases import Case, IntakeKey, case_number_seq, format_case_number
from models.customers import Account, AccountContact, Asset, Consumer, Contact, Product
from workflows.types import NewCase
from workflows.vocabulary import Role


def bad(field: str, msg: str) -> Problem:
    return Problem(422, msg, errors=[{"loc": ["body", field], "msg": msg}])


async def may_name_asset(db, who: Principal, asset: Asset) -> bool:
    """Staff may name any asset; a customer only their own (another customer's asset would
    bring that customer's entitlement and SLAs with it)."""
    if not who.is_customer:
        return True
    if who.role == Role.CONSUMER:
        return asset.consumer_id == who.subject_id
    mine = await visibility.contact_accounts(db, who.subject_id)
    return asset.account_id is not None and asset.account_id in mine


async def check_requester(db, who: Principal, body: CaseCreate) -> dict:
    """Who the case is for, checked against what exists and what the caller may act for."""
    fields = body.model_dump(exclude={"email", "name", "category"})
    fields["category"] = body.category.model_dump(exclude_none=True) if body.category else {}
    fields["requester_email"] = body.email
    fields["requester_name"] = body.name
    if who.is_customer:
        for internal in ("priority", "queue", "required_skills", "parent_case_id"):
            if getattr(body, internal):
                raise bad(internal, f"customers cannot set {internal}")
        if who.role == Role.CONTACT:
            fields.update(contact_id=who.subject_id, consumer_id=None, requester_email=None)
        else:
            fields.update(consumer_id=who.subject_id, contact_id=None, requester_email=None)
    given = [k for k in ("contact_id", "consumer_id", "requester_email") if fields.get(k)]
    if len(given) != 1:
        raise bad("contact_id", "give exactly one of contact_id, consumer_id or email")
    if fields["contact_id"]:
        contact = await db.get(Contact, fields["contact_id"])
        if contact is None:
            raise bad("contact_id", "no such contact")
        accounts = (
            (
                await db.execute(
                    select(AccountContact.account_id)
                    .where(AccountContact.contact_id == contact.id)
                    .order_by(AccountContact.primary.desc())
                )
            )
            .scalars()
            .all()
        )
        if fields["account_id"] and fields["account_id"] not in accounts:
            raise bad("account_id", "the contact does not belong to that account")
        if not fields["account_id"] and accounts:
            # The primary account, as intake would pick: set now so the case is visible to
            # the contact (visibility goes by account) from the moment it is answered.
            fields["account_id"] = accounts[0]
        fields["requester_name"] = contact.name
    elif fields["consumer_id"]:
        consumer = await db.get(Consumer, fields["consumer_id"])
        if consumer is None:
            raise bad("consumer_id", "no such consumer")
        fields["requester_name"] = consumer.name
        fields["account_id"] = None
    if fields.get("account_id") and await db.get(Account, fields["account_id"]) is None:
        raise bad("account_id", "no such account")
    if fields.get("product_id") and await db.get(Product, fields["product_id"]) is None:
        raise bad("product_id", "no such product")
    if fields.get("asset_id"):
        asset = await db.get(Asset, fields["asset_id"])
        if asset is None or not await may_name_asset(db, who, asset):
            raise bad("asset_id", "no such asset")
        fields["product_id"] = fields.get("product_id") or asset.product_id
    if fields.get("parent_case_id") and await db.get(Case, fields["parent_case_id"]) is None:
        raise bad("parent_case_id", "no such case")
    return fields


async def create(
    *,
    db: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    who: Principal,
    body: CaseCreate,
    idempotency_key: str | None = None,
) -> "Opening":
    """POST /cases and the portal's form: the checked requester, then the case opened."""
    fields = await check_requester(db, who, body)
    await db.rollback()
    key = None
    if idempotency_key:  # per caller: two clients' keys never meet
        key = f"{who.role}:{who.subject_id or who.token_id}:{idempotency_key}"
    return await open_case(
        sessions=sessions, client=client, task_queue=task_queue, fields=fields, key=key
    )


KEY_LIFETIME = timedelta(hours=24)
# How long POST /cases waits for intake; past it the case is still opened (202).
OPEN_TIMEOUT = timedelta(seconds=20)
NEW_CASE_FIELDS = {f for f in NewCase.__dataclass_fields__}


@dataclass
class Opening:
    case_id: uuid.UUID
    number: str
    workflow_id: str
    fresh: bool  # False: an earlier request with the same key opened it
    done: bool = True  # False: intake had not finished within OPEN_TIMEOUT


async def reserve(db: AsyncSession, key: str | None) -> tuple[uuid.UUID, str, bool]:
    """A new case's id and number; with a key, the ones it named in the last 24 hours."""
    number = format_case_number((await db.execute(select(case_number_seq.next_value()))).scalar())
    case_id = uuid.uuid4()
    if key is None:
        return case_id, number, True
    now = datetime.now(UTC)
    taken = await db.execute(
        insert(IntakeKey)
        .values(key=key, case_id=case_id, number=number, created_at=now)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={"case_id": case_id, "number": number, "created_at": now},
            where=IntakeKey.created_at < now - KEY_LIFETIME,
        )
        .returning(IntakeKey.case_id)
    )
    if taken.first() is not None:
        return case_id, number, True
    row = (await db.execute(select(IntakeKey).where(IntakeKey.key == key))).scalar_one()
    return row.case_id, row.number, False


async def open_case(
    *,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    fields: dict,
    key: str | None = None,
    history_limit: int = 0,
) -> Opening:
    """Start the case's workflow and wait (up to OPEN_TIMEOUT) for its intake."""
    async with sessions() as db, db.begin():
        case_id, number, fresh = await reserve(db, key)
    workflow_id = f"case-{number}"
    new = NewCase(**{k: _plain(v) for k, v in fields.items() if k in NEW_CASE_FIELDS})
    try:
        await start_case(
            client,
            task_queue=task_queue,
            case_id=str(case_id),
            number=number,
            new=new,
            timeout=OPEN_TIMEOUT,
            history_limit=history_limit,
        )
    except WorkflowAlreadyStartedError:
        if fresh:
            raise
        return Opening(case_id, number, workflow_id, fresh=False)  # it has run its course
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        return Opening(case_id, number, workflow_id, fresh, done=False)
    except WorkflowUpdateFailedError as err:  # intake refused it for good: no row exists
        raise Problem(422, getattr(err.cause, "message", None) or str(err)) from err
    return Opening(case_id, number, workflow_id, fresh)


def _plain(value):
    """UUIDs as strings: the workflow's input is plain data."""
    return str(value) if isinstance(value, uuid.UUID) else value
