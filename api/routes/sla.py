"""SLA policy over time: edit definitions and schedules (re-timing running cases), at-risk
cases for supervisors, and the queues breached cases escalate to."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from temporalio.client import Client

from api import case_views
from api.auth import require
from api.deps import ClientDep, CurrentPrincipal, ReadSessionDep, SessionDep, SettingsDep
from api.errors import Problem
from api.routes.catalog import check_refs, one, save
from api.schemas.cases import CasePage
from api.schemas.catalog import (
    ScheduleCreate,
    ScheduleRead,
    SlaDefinitionCreate,
    SlaDefinitionRead,
)
from casework.settings import Settings
from models.cases import OPEN_STATES
from models.people import Queue
from models.service import Schedule, SlaDefinition
from workflows.policy import PolicyChangeWorkflow
from workflows.types import PolicyChangeInput

router = APIRouter(tags=["sla"])


async def retime_running_cases(client: Client, settings: Settings, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    change_id = str(uuid.uuid4())
    await client.start_workflow(
        PolicyChangeWorkflow.run,
        PolicyChangeInput(change_id, [str(i) for i in ids]),
        id=f"policy-{change_id}",
        task_queue=settings.task_queue,
    )


@router.put("/sla-definitions/{item_id}", response_model=SlaDefinitionRead)
async def update_sla_definition(
    item_id: uuid.UUID,
    body: SlaDefinitionCreate,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
):
    """Edit a definition; every running case that uses it is re-timed from its own history."""
    require(who)
    definition_id = item_id
    definition = await one(db, SlaDefinition, definition_id)
    await check_refs(db, schedule_id=(Schedule, body.schedule_id))
    for field, value in body.model_dump().items():
        setattr(definition, field, value)
    await save(db, definition, conflict="the SLA definition conflicts with an existing one")
    await retime_running_cases(client, settings, [definition_id])
    return SlaDefinitionRead.model_validate(definition)


@router.put("/schedules/{item_id}", response_model=ScheduleRead, tags=["schedules"])
async def update_schedule(
    item_id: uuid.UUID,
    body: ScheduleCreate,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
):
    """Edit business hours or holidays; clocks on definitions using it are re-timed."""
    require(who)
    schedule_id = item_id
    schedule = await one(db, Schedule, schedule_id)
    schedule.name = body.name
    for field, value in body.as_dict().items():
        setattr(schedule, field, value)
    await save(db, schedule, conflict="the schedule conflicts with an existing one")
    users = await db.execute(
        select(SlaDefinition.id).where(SlaDefinition.schedule_id == schedule_id)
    )
    await retime_running_cases(client, settings, list(users.scalars()))
    return ScheduleRead.model_validate(schedule)


@router.get("/sla/at-risk", response_model=CasePage, summary="Open cases by time to breach")
async def at_risk(
    db: ReadSessionDep,
    who: CurrentPrincipal,
    within_seconds: Annotated[int, Query(ge=0, le=366 * 24 * 3600)] = 3600,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """Running SLA clocks due within the window (already breached ones first)."""
    require(who, "supervisor", "agent")
    now = datetime.now(UTC)
    columns = case_views.cases.c
    query = case_views.VIEW_SELECT.where(
        columns.state.in_(OPEN_STATES),
        columns.next_due_at.is_not(None),
        columns.next_due_at <= now + timedelta(seconds=within_seconds),
    )
    if queue:
        query = query.where(columns.queue == queue)
    rows = await db.execute(query.order_by(columns.next_due_at, columns.id).limit(limit))
    items = await case_views.views(db, rows.all(), now)
    return case_views.answer({"items": items, "next_cursor": None})


class QueueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, pattern=r"^[\w.-]+$")
    description: str | None = Field(None, max_length=300)
    escalation_queue: str | None = Field(None, min_length=1, max_length=80, pattern=r"^[\w.-]+$")


class QueueRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    description: str | None
    escalation_queue: str | None


@router.post("/queues", status_code=201, response_model=QueueRead, tags=["queues"])
async def create_queue(body: QueueCreate, db: SessionDep, who: CurrentPrincipal):
    """A queue and where its breached, unassigned cases escalate to."""
    require(who, "integration")
    if body.escalation_queue == body.name:
        raise Problem(422, "a queue cannot escalate to itself")
    queue = Queue(**body.model_dump())
    await save(db, queue, conflict=f"queue {body.name} exists")
    return QueueRead.model_validate(queue)


@router.get("/queues", tags=["queues"])
async def list_queues(db: SessionDep, who: CurrentPrincipal):
    require(who, "supervisor", "agent", "integration")
    rows = await db.execute(select(Queue).order_by(Queue.name))
    return {"items": [QueueRead.model_validate(q) for q in rows.scalars()], "next_cursor": None}
