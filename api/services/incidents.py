"""ITSM incidents linked to cases: find, list, and take a state change to the case."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import or_, select
from temporalio.client import Client

from api.auth import Principal
from api.errors import Problem, not_found
from api.pagination import equal, read_page
from api.schemas.field_service import IncidentRead, IncidentStatusBody
from api.updates import run_update
from models.cases import Case
from models.itsm import Incident
from workflows.types import IncidentUpdate
from workflows.vocabulary import INCIDENT_OVER, IncidentState

UPDATE = "incident_update"  # CaseWorkflow's update for a linked incident's change


async def find(*, db, ref: str) -> Incident:
    """By our id, else by the receiving ITSM's own id for it."""
    try:
        own = uuid.UUID(ref)
    except ValueError:
        own = None
    query = select(Incident).where(
        or_(Incident.id == own, Incident.external_id == ref) if own else Incident.external_id == ref
    )
    found = (await db.execute(query.execution_options(populate_existing=True))).scalars().first()
    if found is None:
        raise not_found("incident")
    return found


async def list_page(
    *,
    db,
    case_id: uuid.UUID | None,
    state: IncidentState | None,
    limit: int,
    cursor: str | None,
) -> dict:
    query = equal(select(Incident), Incident, {"case_id": case_id, "state": state})
    return await read_page(db, query, Incident, limit, cursor, IncidentRead.model_validate)


async def report(
    *,
    db,
    client: Client,
    who: Principal,
    incident: Incident,
    body: IncidentStatusBody,
    idempotency_key: str | None,
) -> IncidentRead:
    """Tell the case (an update with a validator: it records the timeline, tells the agent
    and may resolve the case); a case that has ended gets only its incident row moved."""
    if incident.state in INCIDENT_OVER:
        raise Problem(409, f"incident {incident.number} is {incident.state}")
    incident_id = incident.id
    case = await db.get(Case, incident.case_id)
    workflow_id = case.workflow_id
    await db.rollback()
    update = IncidentUpdate(
        incident_id=str(incident_id),
        status=body.state,
        comment=body.comment,
        resolution=body.resolution,
        actor_role=who.role,
        actor_id=str(who.subject_id) if who.subject_id else None,
    )
    # The ITSM's own idempotency key: a redelivered state change applies once.
    update_id = f"incident-{incident_id}-{idempotency_key or uuid.uuid4()}"
    running = await run_update(
        client.get_workflow_handle(workflow_id),
        UPDATE,
        update,
        action="incident-update",
        what="case",
        update_id=update_id,
        missing_ok=True,
    )
    if not running:
        await move_without_case(db, incident_id, body)
    return IncidentRead.model_validate(await find(db=db, ref=str(incident_id)))


async def move_without_case(db, incident_id: uuid.UUID, body: IncidentStatusBody) -> None:
    """The case is closed: nobody to tell, but the incident's own state stays true."""
    async with db.begin():
        row = await db.get(Incident, incident_id, with_for_update=True)
        row.state = body.state
        row.last_comment = body.comment or row.last_comment
        row.resolution = body.resolution or row.resolution
        if body.state == IncidentState.RESOLVED and row.resolved_at is None:
            row.resolved_at = datetime.now(UTC)
