"""Major cases: link children under a case, and broadcast to every child's customer.

Registered before the cases router: `/cases/{id}/actions/broadcast` would otherwise meet the
generic action route, whose `{action}` does not name it."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path

from api import case_views
from api.deps import ClientDep, CurrentPrincipal, SessionDep
from api.schemas.cases import CaseRead
from api.schemas.events import BroadcastBody, ChildrenLink, ChildrenRead
from api.services import major_cases
from api.updates import BUSY

router = APIRouter(tags=["cases"])
CaseId = Annotated[uuid.UUID, Path(description="The case id (UUID)")]


@router.post(
    "/cases/{case_id}/children",
    response_model=ChildrenRead,
    summary="Make the case major and link existing cases under it",
    responses={409: {"description": "the case is ended or is a child; a case has another major"}},
)
async def link_children(case_id: CaseId, body: ChildrenLink, db: SessionDep, who: CurrentPrincipal):
    """Resolving the major case (by an agent, or by its own work order or incident) then
    resolves every child still new, open or awaiting_info; a broadcast on it reaches every
    child's customer. Answers with all its children."""
    return await major_cases.link_children(db=db, who=who, case_id=case_id, case_ids=body.case_ids)


@router.post(
    "/cases/{case_id}/actions/broadcast",
    response_model=CaseRead,
    summary="Tell every child's customer once (major case only)",
    responses={409: {"description": "the case is not a major case, or has ended"}, **BUSY},
)
async def broadcast(
    case_id: CaseId,
    body: BroadcastBody,
    db: SessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="The same key on the same case broadcasts once"),
    ] = None,
):
    """One notification and one timeline event per child, in batches, after the answer; a
    retry with the same Idempotency-Key sends nothing again."""
    view = await major_cases.broadcast(
        db=db,
        client=client,
        who=who,
        case_id=case_id,
        body=body.body,
        idempotency_key=idempotency_key,
    )
    return case_views.answer(view)
