"""SLA definitions: create, read, and edit (re-timing the running cases that use them)."""

import uuid

from fastapi import APIRouter

from api.collections import collection
from api.deps import Admin, ClientDep, SessionDep, SettingsDep, Writer
from api.schemas.catalog import SlaDefinitionCreate, SlaDefinitionRead
from api.services.catalog import service_model
from models.service import SlaDefinition

router = APIRouter(tags=["sla"])


@router.post("/sla-definitions", status_code=201, response_model=SlaDefinitionRead)
async def create_sla_definition(body: SlaDefinitionCreate, db: SessionDep, _: Writer):
    """An SLA target: response or resolution within so many (business) seconds, its warning
    thresholds and pause states; the default for a priority, or named by entitlements."""
    return await service_model.create_sla_definition(db=db, body=body)


collection(router, "sla-definitions", SlaDefinition, SlaDefinitionRead, "sla")


@router.put("/sla-definitions/{item_id}", response_model=SlaDefinitionRead)
async def update_sla_definition(
    item_id: uuid.UUID,
    body: SlaDefinitionCreate,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    _: Admin,
):
    """Edit a definition; every running case that uses it is re-timed from its own history."""
    return await service_model.update_sla_definition(
        db=db, client=client, task_queue=settings.task_queue, definition_id=item_id, body=body
    )
