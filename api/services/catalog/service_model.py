"""The service model: schedules, SLA definitions (edits re-time running cases), entitlements,
and the SLA preview."""

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Problem
from api.schemas.catalog import (
    EntitlementCreate,
    EntitlementRead,
    ScheduleCreate,
    ScheduleRead,
    SlaDefinitionCreate,
    SlaDefinitionRead,
    SlaPreview,
    SlaPreviewRead,
)
from api.services.catalog.common import check_refs, one, reference_problem, save
from models.customers import Account, Asset, Consumer, Contact, Product
from models.service import Entitlement, Schedule, SlaDefinition
from workflows import calendar
from workflows.policy import PolicyChangeWorkflow
from workflows.types import PolicyChangeInput

PREVIEW_HORIZON_YEARS = 10


async def retime_running_cases(client: Client, task_queue: str, ids: list[uuid.UUID]) -> None:
    """Re-time every running case whose clocks use these SLA definitions."""
    if not ids:
        return
    change_id = str(uuid.uuid4())
    await client.start_workflow(
        PolicyChangeWorkflow.run,
        PolicyChangeInput(change_id, [str(i) for i in ids]),
        id=f"policy-{change_id}",
        task_queue=task_queue,
    )


async def create_schedule(*, db: AsyncSession, body: ScheduleCreate) -> ScheduleRead:
    schedule = Schedule(id=uuid.uuid4(), name=body.name, **body.as_dict())
    await save(db, schedule, conflict="the schedule conflicts with an existing one")
    return ScheduleRead.model_validate(schedule)


async def update_schedule(
    *, db: AsyncSession, client: Client, task_queue: str, schedule_id: uuid.UUID, body
) -> ScheduleRead:
    """Edit business hours or holidays; clocks on definitions using it are re-timed."""
    schedule = await one(db, Schedule, schedule_id)
    schedule.name = body.name
    for field, value in body.as_dict().items():
        setattr(schedule, field, value)
    await save(db, schedule, conflict="the schedule conflicts with an existing one")
    users = await db.execute(
        select(SlaDefinition.id).where(SlaDefinition.schedule_id == schedule_id)
    )
    await retime_running_cases(client, task_queue, list(users.scalars()))
    return ScheduleRead.model_validate(schedule)


async def create_sla_definition(*, db: AsyncSession, body: SlaDefinitionCreate):
    await check_refs(db, schedule_id=(Schedule, body.schedule_id))
    definition = SlaDefinition(id=uuid.uuid4(), **body.model_dump())
    await save(db, definition, conflict="the SLA definition conflicts with an existing one")
    return SlaDefinitionRead.model_validate(definition)


async def update_sla_definition(
    *,
    db: AsyncSession,
    client: Client,
    task_queue: str,
    definition_id: uuid.UUID,
    body: SlaDefinitionCreate,
) -> SlaDefinitionRead:
    """Edit a definition; every running case that uses it is re-timed from its own history."""
    definition = await one(db, SlaDefinition, definition_id)
    await check_refs(db, schedule_id=(Schedule, body.schedule_id))
    for field, value in body.model_dump().items():
        setattr(definition, field, value)
    await save(db, definition, conflict="the SLA definition conflicts with an existing one")
    await retime_running_cases(client, task_queue, [definition_id])
    return SlaDefinitionRead.model_validate(definition)


async def create_entitlement(*, db: AsyncSession, body: EntitlementCreate) -> EntitlementRead:
    await check_refs(
        db,
        account_id=(Account, body.account_id),
        contact_id=(Contact, body.contact_id),
        consumer_id=(Consumer, body.consumer_id),
        product_id=(Product, body.product_id),
        asset_id=(Asset, body.asset_id),
        sla_definition_ids=(SlaDefinition, body.sla_definition_ids),
    )
    fields = body.model_dump(mode="json", exclude={"starts_on", "ends_on"})
    entitlement = Entitlement(
        id=uuid.uuid4(), **fields, starts_on=body.starts_on, ends_on=body.ends_on
    )
    await save(db, entitlement, conflict="the entitlement conflicts with an existing one")
    return EntitlementRead.model_validate(entitlement)


async def preview(*, db: AsyncSession, body: SlaPreview) -> SlaPreviewRead:
    """When an SLA of `duration_seconds` started at `start` falls due on a schedule."""
    if body.schedule_id:
        row = await db.get(Schedule, body.schedule_id)
        if row is None:
            raise reference_problem("schedule_id", f"no such schedule: {body.schedule_id}")
        spec = {"timezone": row.timezone, "hours": row.hours, "holidays": row.holidays}
    else:
        spec = body.schedule.as_dict() if body.schedule else None
    try:
        schedule = calendar.Schedule.from_dict(spec)
        # A sparse schedule makes the walk long; refuse before it ties up the event loop.
        if not schedule.is_24x7:
            year = calendar.business_seconds_between(
                schedule, body.start, body.start + timedelta(days=366)
            )
            if year * PREVIEW_HORIZON_YEARS < body.duration_seconds:
                raise Problem(422, f"the due time is more than {PREVIEW_HORIZON_YEARS} years away")
        due = calendar.add_business_seconds(schedule, body.start, body.duration_seconds)
        zone = ZoneInfo(schedule.timezone) if spec else body.start.tzinfo
        return SlaPreviewRead(due_at=due.astimezone(zone))
    except (ValueError, OverflowError) as err:
        raise Problem(422, f"no due time: {err}") from err
