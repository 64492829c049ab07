"""Open a case: check who it is for, insert its row with a fresh number, start its workflow."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api import visibility
from api.auth import Principal
from api.errors import Problem
from api.schemas.cases import CaseCreate
from models.cases import Case, case_number_seq, format_case_number
from models.customers import Account, AccountContact, Asset, Consumer, Contact, Product
from workflows.case import CaseInput, CaseWorkflow
from workflows.vocabulary import CaseState, Role

CASE_FIELDS = (
    "subject",
    "description",
    "channel",
    "contact_id",
    "account_id",
    "consumer_id",
    "product_id",
    "asset_id",
    "category",
    "required_skills",
    "requester_email",
    "requester_name",
    "parent_case_id",
    "queue",
)


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


async def open_case(
    *,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    fields: dict,
    history_limit: int = 0,
) -> Case:
    """The workflow has started when this returns; if it cannot start, no row is left."""
    priority = fields.get("priority")
    async with sessions() as db, db.begin():
        n = (await db.execute(select(case_number_seq.next_value()))).scalar()
        number = format_case_number(n)
        case = Case(
            id=uuid.uuid4(),
            number=number,
            workflow_id=f"case-{number}",
            state=CaseState.NEW,
            priority=priority or 3,
            priority_explicit=priority is not None,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
            category=fields.get("category") or {},
            required_skills=fields.get("required_skills") or [],
            sla=[],
            **{k: fields.get(k) for k in CASE_FIELDS if k not in ("category", "required_skills")},
        )
        db.add(case)
    try:
        await client.start_workflow(
            CaseWorkflow.run,
            CaseInput(str(case.id), number, history_limit=history_limit),
            id=case.workflow_id,
            task_queue=task_queue,
        )
    except BaseException:
        async with sessions() as db, db.begin():
            await db.execute(delete(Case).where(Case.id == case.id))
        raise
    return case


async def create(
    *,
    db: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    who: Principal,
    body: CaseCreate,
) -> Case:
    """POST /cases and the portal's form: the checked requester, then the case opened."""
    fields = await check_requester(db, who, body)
    await db.rollback()
    return await open_case(sessions=sessions, client=client, task_queue=task_queue, fields=fields)
