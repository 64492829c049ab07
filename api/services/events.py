"""Monitoring events: post one (idempotent on source and event_id), read its progress, clear it.

Posting takes the (source, event_id) slot under a unique constraint and, in the same
transaction, reserves the major case's id and number and writes the plan: one row per
affected customer (an account or a consumer, never an asset) with its assets and its child
case's reserved id and number. Only then does it start the event's fan-out, whose id comes
from the event: five posts at once meet at the constraint (four wait, then find the row) and
at the workflow id (one run, one major case), and all five answer with the same major case.
A post that refuses (an unknown product or asset) writes nothing.
"""

import uuid
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.auth import Principal
from api.errors import Problem, not_found
from api.pagination import cut, page
from api.schemas.events import EventClear, MonitoringEventCreate
from api.services.cases import recorded
from api.services.major_cases import fan_out, refusal
from api.updates import run_update
from models.cases import Case, Notification, format_case_number
from models.customers import AccountContact, Asset, Product
from models.events import Event, EventCustomer
from workflows.actions import Action, ResolveInput
from workflows.fan_out_types import FanOutInput
from workflows.vocabulary import CaseState, FanOutKind, Role

READERS = (Role.SUPERVISOR, Role.AGENT, Role.INTEGRATION)
POSTERS = (Role.INTEGRATION,)
CLEARERS = (Role.INTEGRATION, Role.SUPERVISOR)
_NUMBERS = text("SELECT nextval('case_number_seq') FROM generate_series(1, :n)")
DONE = (CaseState.RESOLVED, CaseState.CLOSED)


def open_fan_out_id(event: Event) -> str:
    return f"event-{event.id}"


def bad_ids(field: str, ids: list[str]) -> Problem:
    msg = f"no such {field.removesuffix('_ids').removesuffix('_id')}: {', '.join(ids)}"
    return Problem(422, msg, errors=[{"loc": ["body", field], "msg": msg, "ids": ids}])


async def check_targets(db: AsyncSession, body: MonitoringEventCreate) -> None:
    """422 naming every unknown product or asset id; nothing is written before this passes."""
    if body.product_id is None and not body.asset_ids:
        msg = "give product_id or asset_ids"
        raise Problem(422, msg, errors=[{"loc": ["body", "product_id"], "msg": msg}])
    if body.product_id is not None and await db.get(Product, body.product_id) is None:
        raise bad_ids("product_id", [str(body.product_id)])
    if body.asset_ids:
        wanted = set(body.asset_ids)
        known = set((await db.execute(select(Asset.id).where(Asset.id.in_(wanted)))).scalars())
        if unknown := sorted(str(i) for i in wanted - known):
            raise bad_ids("asset_ids", unknown)


def _contains(column, value: str):
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


async def affected(db: AsyncSession, body: MonitoringEventCreate) -> list[dict]:
    """One entry per affected customer, in the order their first asset was installed: the
    account (with its primary contact, who is told) or the consumer, and their assets."""
    primary_contact = (
        select(AccountContact.contact_id)
        .where(AccountContact.account_id == Asset.account_id)
        .order_by(AccountContact.primary.desc(), AccountContact.contact_id)
        .limit(1)
        .scalar_subquery()
    )
    query = select(Asset.id, Asset.account_id, Asset.consumer_id, primary_contact).where(
        or_(Asset.account_id.is_not(None), Asset.consumer_id.is_not(None))
    )
    if body.asset_ids:
        query = query.where(Asset.id.in_(set(body.asset_ids)))
    else:
        query = query.where(Asset.product_id == body.product_id)
    if body.location:
        query = query.where(_contains(Asset.location, body.location))
    customers: dict[str, dict] = {}
    for asset_id, account_id, consumer_id, contact_id in await db.execute(
        query.order_by(Asset.created_at, Asset.id)
    ):
        key = f"account:{account_id}" if account_id else f"consumer:{consumer_id}"
        entry = customers.setdefault(
            key,
            {
                "customer_key": key,
                "account_id": account_id,
                "contact_id": contact_id if account_id else None,
                "consumer_id": None if account_id else consumer_id,
                "asset_ids": [],
            },
        )
        entry["asset_ids"].append(str(asset_id))
    return list(customers.values())


async def numbers(db: AsyncSession, n: int) -> list[str]:
    got = sorted((await db.execute(_NUMBERS, {"n": n})).scalars()) if n else []
    return [format_case_number(i) for i in got]


async def take(db: AsyncSession, body: MonitoringEventCreate) -> tuple[Event, bool]:
    """The event's row: taken now with its plan (True), or found as an earlier post left it."""
    await check_targets(db, body)
    event_ref, major_case_id = uuid.uuid4(), uuid.uuid4()
    taken = await db.execute(
        insert(Event)
        .values(
            id=event_ref,
            source=body.source,
            event_id=body.event_id,
            summary=body.summary,
            severity=body.severity,
            product_id=body.product_id,
            asset_ids=[str(a) for a in body.asset_ids],
            location=body.location,
            queue=body.queue,
            major_case_id=major_case_id,
            major_number=(await numbers(db, 1))[0],
            affected=0,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(constraint="uq_events_source_event_id")
        .returning(Event.id)
    )
    if taken.first() is None:  # posted before (or right now, by a request that committed)
        found = select(Event).where(Event.source == body.source, Event.event_id == body.event_id)
        return (await db.execute(found)).scalar_one(), False
    plan = await affected(db, body)
    reserved = await numbers(db, len(plan))
    if plan:
        rows = [
            {"event_ref": event_ref, "seq": i, "case_id": uuid.uuid4(), "number": reserved[i], **c}
            for i, c in enumerate(plan)
        ]
        await db.execute(insert(EventCustomer), rows)
    event = await db.get(Event, event_ref)
    event.affected = len(plan)
    await db.flush()
    return event, True


async def post(
    *,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    body: MonitoringEventCreate,
) -> tuple[dict, bool, bool]:
    """The event's view, whether this post took it (201) or found it (200), and whether its
    major case is open by now (False: 202, it is on its way)."""
    async with sessions() as db, db.begin():
        event, fresh = await take(db, body)
    step = await fan_out(
        client,
        task_queue,
        FanOutInput(
            kind=FanOutKind.OPEN,
            major_case_id=str(event.major_case_id),
            major_number=event.major_number,
            fan_out_id=open_fan_out_id(event),
            event_ref=str(event.id),
        ),
    )
    refusal(step)
    async with sessions() as db:
        return await view(db, event), fresh, step is not None


async def progress(db: AsyncSession, event: Event) -> dict:
    """Child cases opened (intake done), customers notified (acknowledgement sent), resolved."""
    child = and_(EventCustomer.event_ref == event.id)
    cases = await db.execute(
        select(
            func.count().filter(Case.state != CaseState.NEW),
            func.count().filter(Case.state.in_(DONE)),
        )
        .select_from(EventCustomer)
        .join(Case, Case.id == EventCustomer.case_id)
        .where(child)
    )
    opened, resolved = cases.one()
    ack_key = func.cast(EventCustomer.case_id, Notification.key.type) + ":ack"
    notified = await db.execute(
        select(func.count())
        .select_from(EventCustomer)
        .join(Notification, Notification.case_id == EventCustomer.case_id)
        .where(child, Notification.key == ack_key, Notification.status == "sent")
    )
    return {"opened": opened, "resolved": resolved, "notified": notified.scalar()}


async def view(db: AsyncSession, event: Event) -> dict:
    return {
        "id": event.id,
        "source": event.source,
        "event_id": event.event_id,
        "summary": event.summary,
        "severity": event.severity,
        "product_id": event.product_id,
        "asset_ids": event.asset_ids,
        "location": event.location,
        "major_case_id": event.major_case_id,
        "major_case_number": event.major_number,
        "affected": event.affected,
        "cleared_at": event.cleared_at,
        "created_at": event.created_at,
        **await progress(db, event),
    }


async def get(*, db: AsyncSession, event_ref: uuid.UUID) -> dict:
    event = await db.get(Event, event_ref)
    if event is None:
        raise not_found("event")
    return await view(db, event)


async def list_page(*, db: AsyncSession, limit: int, cursor: str | None) -> dict:
    """Events, oldest first, each with its progress."""
    columns = Event.__table__.c
    query = page(select(Event.__table__), columns, limit, cursor)
    rows, next_cursor = cut((await db.execute(query)).all(), limit)
    items = [await get(db=db, event_ref=row.id) for row in rows]
    return {"items": items, "next_cursor": next_cursor}


async def clear(
    *,
    sessions,
    client: Client,
    who: Principal,
    event_ref: uuid.UUID,
    body: EventClear,
) -> dict:
    """Resolve the major case and every child still active with the event's resolution (once:
    clearing again starts nothing new)."""
    async with sessions() as db, db.begin():
        event = await db.get(Event, event_ref, with_for_update=True)
        if event is None:
            raise not_found("event")
        if event.cleared_at is None:
            event.cleared_at = datetime.now(UTC)
            event.resolution = body.resolution or f"Cleared: {event.summary}"
    # The major case's ordinary resolve (its workflow then resolves the children), with an
    # update id of the event's: clearing again applies nothing new.
    arg = ResolveInput(
        resolution=event.resolution,
        actor_role=who.role,
        actor_id=str(who.subject_id) if who.subject_id else None,
    )
    update_id = f"{open_fan_out_id(event)}-clear"

    async def applied(update_id: str) -> bool:  # a lost answer is no 429 for a done resolve
        async with sessions() as db:
            return await recorded(db, event.major_case_id, Action.RESOLVE, update_id)

    try:
        await run_update(
            client.get_workflow_handle(f"case-{event.major_number}"),
            str(Action.RESOLVE),
            arg,
            action=Action.RESOLVE,
            what="major case",
            update_id=update_id,
            missing_ok=True,
            applied=applied,
        )
    except Problem as err:  # resolved by an agent already: no refusal, the event is cleared
        if err.status != 409:
            raise
    async with sessions() as db:
        return await get(db=db, event_ref=event_ref)
