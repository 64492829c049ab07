"""Queues, and where their breached, unassigned cases escalate to."""

from fastapi import APIRouter

from api.deps import Reader, SessionDep, Writer
from api.schemas.catalog import QueueCreate, QueueRead
from api.services.catalog import queues

router = APIRouter(tags=["queues"])


@router.post("/queues", status_code=201, response_model=QueueRead)
async def create_queue(body: QueueCreate, db: SessionDep, _: Writer):
    """A queue and where its breached, unassigned cases escalate to."""
    return await queues.create(db=db, body=body)


@router.get("/queues")
async def list_queues(db: SessionDep, _: Reader):
    """Every queue, by name, with where its breached cases escalate to."""
    return await queues.all_queues(db=db)
