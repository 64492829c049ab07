"""ITSM incidents linked to cases: read them, move built-in ones on, and take status updates
back from an outside service desk (HMAC-signed webhook)."""

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import ValidationError
from sqlalchemy import or_, select
from temporalio.client import Client

from api.auth import Principal, require
from api.deps import ClientDep, CurrentPrincipal, SessionDep, SettingsDep
from api.errors import Problem, not_found
from api.pagination import CursorQ, LimitQ, page, result
from api.schemas.catalog import Page
from api.schemas.field_service import IncidentRead, IncidentStatusBody
from api.updates import run_update
from models.cases import Case
from models.itsm import INCIDENT_FAILED, INCIDENT_STATES, Incident
from workflows.case import CaseWorkflow
from workflows.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_fresh
from workflows.types import IncidentUpdate

router = APIRouter(tags=["itsm"])
READERS = ("supervisor", "agent", "integration")
OVER = ("closed", INCIDENT_FAILED)
MAX_KEY = 200


async def find_incident(db, ref: str) -> Incident:
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


async def apply_update(
    db,
    client: Client,
    who: Principal,
    incident: Incident,
    body: IncidentStatusBody,
    idempotency_key: str | None,
) -> IncidentRead:
    """Tell the case (an update with a validator: it records the timeline, tells the agent
    and may resolve the case); a case that has ended gets only its incident row moved."""
    if incident.state in OVER:
        raise Problem(409, f"incident {incident.number} is {incident.state}")
    incident_id = incident.id
    case = await db.get(Case, incident.case_id)
    workflow_id = case.workflow_id
    await db.rollback()
    update = IncidentUpdate(
        incident_id=str(incident_id),
        status=body.status,
        comment=body.comment,
        resolution=body.resolution,
        actor_role=who.role,
        actor_id=str(who.subject_id) if who.subject_id else None,
    )
    # The ITSM's own idempotency key: a redelivered status update applies once.
    update_id = f"incident-{incident_id}-{idempotency_key or uuid.uuid4()}"
    handle = client.get_workflow_handle(workflow_id)
    running = await run_update(
        handle,
        CaseWorkflow.incident_update,
        update,
        action="incident-update",
        what="case",
        update_id=update_id,
        missing_ok=True,
    )
    if not running:
        await move_without_case(db, incident_id, body)
    return IncidentRead.model_validate(await find_incident(db, str(incident_id)))


async def move_without_case(db, incident_id: uuid.UUID, body: IncidentStatusBody) -> None:
    """The case is closed: nobody to tell, but the incident's own state stays true."""
    async with db.begin():
        row = await db.get(Incident, incident_id, with_for_update=True)
        row.state = body.status
        row.last_comment = body.comment or row.last_comment
        row.resolution = body.resolution or row.resolution
        if body.status == "resolved" and row.resolved_at is None:
            row.resolved_at = datetime.now(UTC)


@router.get("/incidents", response_model=Page[IncidentRead], summary="List linked incidents")
async def list_incidents(
    db: SessionDep,
    who: CurrentPrincipal,
    case_id: uuid.UUID | None = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
):
    require(who, *READERS)
    if state is not None and state not in (*INCIDENT_STATES, INCIDENT_FAILED):
        raise Problem(422, "unknown state", errors=[{"loc": ["query", "state"]}])
    query = select(Incident)
    if case_id is not None:
        query = query.where(Incident.case_id == case_id)
    if state is not None:
        query = query.where(Incident.state == state)
    rows = (await db.execute(page(query, Incident, limit, cursor))).scalars().all()
    return result(list(rows), limit, IncidentRead.model_validate)


@router.get("/incidents/{incident_id}", response_model=IncidentRead, summary="Read one incident")
async def get_incident(incident_id: uuid.UUID, db: SessionDep, who: CurrentPrincipal):
    require(who, *READERS)
    return IncidentRead.model_validate(await find_incident(db, str(incident_id)))


@router.post(
    "/incidents/{incident_id}/status",
    response_model=IncidentRead,
    summary="Move a built-in incident on (the built-in service desk's own API)",
    responses={409: {"description": "the incident is closed, or lives in an outside ITSM"}},
)
async def move_incident(
    incident_id: uuid.UUID,
    body: IncidentStatusBody,
    db: SessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_KEY)] = None,
):
    require(who, *READERS)
    incident = await find_incident(db, str(incident_id))
    if incident.adapter != "builtin":
        raise Problem(409, f"incident {incident.number} lives in the outside ITSM; it moves there")
    return await apply_update(db, client, who, incident, body, idempotency_key)


@router.post(
    "/integrations/itsm/incidents/{incident_ref}",
    response_model=IncidentRead,
    tags=["integrations"],
    summary="An incident's status back from the ITSM (HMAC-signed when a secret is set)",
    responses={401: {"description": "missing or bad X-Casework-Signature"}},
)
async def incident_from_itsm(
    incident_ref: Annotated[str, Path(min_length=1, max_length=MAX_KEY)],
    request: Request,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_KEY)] = None,
):
    """`incident_ref` is our incident id or the ITSM's own id for it. Body:
    {"status": "new"|"in_progress"|"resolved"|"closed", "comment", "resolution"}."""
    require(who, "integration")
    raw = await request.body()
    if settings.webhook_secret:
        refused = verify_fresh(
            settings.webhook_secret,
            raw,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            time.time(),
        )
        if refused:
            raise Problem(401, refused)
    try:
        body = IncidentStatusBody.model_validate_json(raw)
    except ValidationError as err:
        errors = [
            {"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in err.errors()
        ]
        raise Problem(422, "the request is not valid", errors=errors) from err
    incident = await find_incident(db, incident_ref)
    return await apply_update(db, client, who, incident, body, idempotency_key)
