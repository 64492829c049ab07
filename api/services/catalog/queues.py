"""Queues, and where each one's breached, unassigned cases escalate to."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem
from api.schemas.catalog import QueueCreate, QueueRead
from api.services.catalog.common import save
from models.people import Queue


async def create(*, db: AsyncSession, body: QueueCreate) -> QueueRead:
    if body.escalation_queue == body.name:
        raise Problem(422, "a queue cannot escalate to itself")
    queue = Queue(**body.model_dump())
    await save(db, queue, conflict=f"queue {body.name} exists")
    return QueueRead.model_validate(queue)


async def all_queues(*, db: AsyncSession) -> dict:
    rows = await db.execute(select(Queue).order_by(Queue.name))
    return {"items": [QueueRead.model_validate(q) for q in rows.scalars()], "next_cursor": None}
