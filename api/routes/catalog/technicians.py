"""Technicians: create, read, and set their availability (which dispatches waiting work
orders)."""

import uuid

from fastapi import APIRouter

from api.auth import require_self_or_supervisor
from api.collections import collection
from api.deps import ClientDep, CurrentPrincipal, SessionDep, SettingsDep, Writer
from api.schemas.catalog import TechnicianCreate, TechnicianRead
from api.schemas.field_service import TechnicianAvailability
from api.services.catalog import people
from models.people import Technician
from workflows.vocabulary import Role

router = APIRouter(tags=["technicians"])


@router.post("/technicians", status_code=201, response_model=TechnicianRead)
async def create_technician(body: TechnicianCreate, db: SessionDep, _: Writer):
    """A field technician with skills, parts carried and a territory: dispatch books them for work
    orders that fit."""
    return await people.create_technician(db=db, body=body)


collection(router, "technicians", Technician, TechnicianRead, "technicians")


@router.put(
    "/technicians/{technician_id}/availability",
    response_model=TechnicianRead,
    summary="Set a technician's availability (available dispatches waiting work orders)",
)
async def set_technician_availability(
    technician_id: uuid.UUID,
    body: TechnicianAvailability,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
):
    """The technician themself, or a supervisor: available or not. Becoming available dispatches
    waiting work orders."""
    require_self_or_supervisor(
        who, Role.TECHNICIAN, technician_id, "a technician may change only their own availability"
    )
    return await people.set_technician_status(
        db=db,
        client=client,
        task_queue=settings.task_queue,
        technician_id=technician_id,
        status=body.status,
    )
