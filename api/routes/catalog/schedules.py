"""Business-hours schedules: create, read, and edit (re-timing the clocks that use them)."""

import uuid

from fastapi import APIRouter

from api.collections import collection
from api.deps import Admin, ClientDep, SessionDep, SettingsDep, Writer
from api.schemas.catalog import ScheduleCreate, ScheduleRead
from api.services.catalog import service_model
from models.service import Schedule

router = APIRouter(tags=["schedules"])


@router.post("/schedules", status_code=201, response_model=ScheduleRead)
async def create_schedule(body: ScheduleCreate, db: SessionDep, _: Writer):
    """Business hours (per weekday, in a time zone) and holidays: SLA clocks that use it run only
    within them."""
    return await service_model.create_schedule(db=db, body=body)


collection(router, "schedules", Schedule, ScheduleRead, "schedules")


@router.put("/schedules/{item_id}", response_model=ScheduleRead)
async def update_schedule(
    item_id: uuid.UUID,
    body: ScheduleCreate,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    _: Admin,
):
    """Edit business hours or holidays; clocks on definitions using it are re-timed."""
    return await service_model.update_schedule(
        db=db, client=client, task_queue=settings.task_queue, schedule_id=item_id, body=body
    )
