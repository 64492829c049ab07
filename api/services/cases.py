"""Case queries: one case's view, the case list, the timeline, notifications, at-risk cases."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload

from api import case_views, visibility
from api.auth import Principal
from api.errors import not_found
from api.pagination import cut, equal, page
from models.cases import Case, CaseEvent, Notification
from workflows.vocabulary import ACTIVE, Role

EVENT_FIELDS = ("id", "kind", "at", "actor_role", "actor_id", "public", "body")
# Who reads a case's internal events (notes, routing) besides staff.
# Partners work the cases assigned to them as the support team does: the whole timeline.
INTERNAL_READERS = (Role.INTEGRATION, Role.PARTNER)


def view_of(case: Case, now: datetime | None = None) -> dict:
    """The view of a Case read through the ORM (with the work orders and incidents it was
    read with; a case just created, never read, has none yet)."""
    values = {column.key: getattr(case, column.key) for column in case_views.COLUMNS}
    work_orders, incidents = loaded(case, "work_order_rows"), loaded(case, "incident_rows")
    return case_views.case_view(values, now or datetime.now(UTC), work_orders, incidents)


def loaded(case: Case, name: str) -> list:
    return [] if name in inspect(case).unloaded else list(getattr(case, name))


async def visible_case(*, db, who: Principal, case_id: uuid.UUID) -> Case:
    """The Case (with its work orders and incidents) if the caller may see it; else 404."""
    query = (
        select(Case)
        .where(Case.id == case_id, await visibility.case_filter(db, who))
        .options(selectinload(Case.work_order_rows), selectinload(Case.incident_rows))
    )
    case = (await db.execute(query.execution_options(populate_existing=True))).scalar()
    if case is None:
        raise not_found()
    return case


async def get(*, db, who: Principal, case_id: uuid.UUID) -> dict:
    """The view of a case the caller may see (404 otherwise)."""
    query = case_views.VIEW_SELECT.where(
        case_views.cases.c.id == case_id, await visibility.case_filter(db, who)
    )
    rows = (await db.execute(query)).all()
    if not rows:
        raise not_found()
    (view,) = await case_views.views(db, rows, datetime.now(UTC))
    return view


async def list_views(*, db, who: Principal, filters: dict, limit: int, cursor: str | None) -> dict:
    """A page of the views of the cases the caller may see, filtered by column values."""
    columns = case_views.cases.c
    query = equal(
        case_views.VIEW_SELECT.where(await visibility.case_filter(db, who)), columns, filters
    )
    rows, next_cursor = cut((await db.execute(page(query, columns, limit, cursor))).all(), limit)
    items = await case_views.views(db, rows, datetime.now(UTC))
    return {"items": items, "next_cursor": next_cursor}


async def latest(*, db, who: Principal, limit: int) -> list[Case]:
    """The newest cases the caller may see (the console's recent list, the portal's own)."""
    query = latest_query(await visibility.case_filter(db, who), limit)
    return list((await db.execute(query)).scalars().all())


def latest_query(visible, limit: int):
    return select(Case).where(visible).order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)


async def at_risk(*, db, within_seconds: int, queue: str | None, limit: int) -> dict:
    """Active cases whose next SLA deadline falls within the window, soonest first."""
    now = datetime.now(UTC)
    columns = case_views.cases.c
    query = case_views.VIEW_SELECT.where(
        columns.state.in_(ACTIVE),
        columns.next_due_at.is_not(None),
        columns.next_due_at <= now + timedelta(seconds=within_seconds),
    )
    if queue:
        query = query.where(columns.queue == queue)
    rows = await db.execute(query.order_by(columns.next_due_at, columns.id).limit(limit))
    return {"items": await case_views.views(db, rows.all(), now), "next_cursor": None}


def sees_internal(who: Principal) -> bool:
    return who.is_staff or who.role in INTERNAL_READERS


async def events(
    *, db, case_id: uuid.UUID, public_only: bool, after: int | None = None, limit: int | None = None
) -> list[CaseEvent]:
    """The case's events, oldest first (only the public ones for customers)."""
    query = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if public_only:
        query = query.where(CaseEvent.public.is_(True))
    if after is not None:
        query = query.where(CaseEvent.id > after)
    query = query.order_by(CaseEvent.id)
    if limit is not None:
        query = query.limit(limit)
    return list((await db.execute(query)).scalars().all())


async def timeline(
    *, db, who: Principal, case_id: uuid.UUID, limit: int, cursor: int | None
) -> dict:
    await visible_case(db=db, who=who, case_id=case_id)
    rows = await events(
        db=db,
        case_id=case_id,
        public_only=not sees_internal(who),
        after=cursor,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {k: getattr(e, k) for k in EVENT_FIELDS}
        | {"data": {k: v for k, v in (e.data or {}).items() if k != "intake"}}
        for e in rows
    ]
    return {"items": items, "next_cursor": str(rows[-1].id) if more else None}


async def notifications_of(*, db, case_id: uuid.UUID) -> list[Notification]:
    rows = await db.execute(
        select(Notification)
        .where(Notification.case_id == case_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return list(rows.scalars())


async def notifications(*, db, who: Principal, case_id: uuid.UUID) -> dict:
    await visible_case(db=db, who=who, case_id=case_id)
    return {"items": await notifications_of(db=db, case_id=case_id), "next_cursor": None}


async def recorded(db, case_id: uuid.UUID, action: str, update_id: str) -> bool:
    """Whether the case's timeline holds the event of this action's update (its key)."""
    key = f"{action}:{update_id}"
    query = select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.key == key)
    return (await db.execute(query)).first() is not None
