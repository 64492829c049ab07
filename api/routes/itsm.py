"""ITSM incidents linked to cases: read them, move built-in ones on, and take state changes
back from an outside service desk (HMAC-signed webhook)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from pydantic import ValidationError

from api.auth import require
from api.deps import ClientDep, CurrentPrincipal, SessionDep, SettingsDep, check_signature
from api.errors import Problem
from api.pagination import CursorQ, LimitQ
from api.schemas.catalog import Page
from api.schemas.field_service import IncidentRead, IncidentStatusBody
from api.services import incidents
from api.updates import BUSY
from workflows.vocabulary import IncidentState, Role

router = APIRouter(tags=["itsm"])
READERS = (Role.SUPERVISOR, Role.AGENT, Role.INTEGRATION)
MAX_KEY = 200


@router.get("/incidents", response_model=Page[IncidentRead], summary="List linked incidents")
async def list_incidents(
    db: SessionDep,
    who: CurrentPrincipal,
    case_id: uuid.UUID | None = None,
    state: IncidentState | None = None,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
):
    """Incidents opened from cases (by escalate-itsm), with their service-desk state and
    external id. Staff and integrations."""
    require(who, *READERS)
    return await incidents.list_page(
        db=db, case_id=case_id, state=state, limit=limit, cursor=cursor
    )


@router.get("/incidents/{incident_id}", response_model=IncidentRead, summary="Read one incident")
async def get_incident(incident_id: uuid.UUID, db: SessionDep, who: CurrentPrincipal):
    """One incident, its case, state, external id and delivery status."""
    require(who, *READERS)
    return IncidentRead.model_validate(await incidents.find(db=db, ref=str(incident_id)))


@router.post(
    "/incidents/{incident_id}/status",
    response_model=IncidentRead,
    summary="Move a built-in incident on (the built-in service desk's own API)",
    responses={409: {"description": "the incident is closed, or lives in an outside ITSM"}, **BUSY},
)
async def move_incident(
    incident_id: uuid.UUID,
    body: IncidentStatusBody,
    db: SessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_KEY)] = None,
):
    """The built-in service desk's own API: move an incident on (in_progress, resolved,
    closed) with a comment or resolution, as an outside desk does through its callback; the
    case hears of it."""
    require(who, *READERS)
    incident = await incidents.find(db=db, ref=str(incident_id))
    if incident.adapter != "builtin":
        raise Problem(409, f"incident {incident.number} lives in the outside ITSM; it moves there")
    return await incidents.report(
        db=db, client=client, who=who, incident=incident, body=body, idempotency_key=idempotency_key
    )


@router.post(
    "/integrations/itsm/incidents/{incident_ref}",
    response_model=IncidentRead,
    tags=["integrations"],
    summary="An incident's state back from the ITSM (HMAC-signed when a secret is set)",
    responses={401: {"description": "missing or bad X-Casework-Signature"}, **BUSY},
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
    {"state": "new"|"in_progress"|"resolved"|"closed", "comment", "resolution"} (`status`,
    the old name of `state`, is still accepted)."""
    require(who, Role.INTEGRATION)
    raw = await request.body()
    check_signature(request, raw, settings)
    try:
        body = IncidentStatusBody.model_validate_json(raw)
    except ValidationError as err:
        errors = [
            {"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in err.errors()
        ]
        raise Problem(422, "the request is not valid", errors=errors) from err
    incident = await incidents.find(db=db, ref=incident_ref)
    return await incidents.report(
        db=db, client=client, who=who, incident=incident, body=body, idempotency_key=idempotency_key
    )
