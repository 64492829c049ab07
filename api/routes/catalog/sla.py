"""SLA over time: when a duration falls due on a schedule, and which cases are at risk."""

from typing import Annotated

from fastapi import APIRouter, Query

from api import case_views
from api.auth import require
from api.deps import CurrentPrincipal, ReadSessionDep, SessionDep, Supervisor
from api.schemas.cases import CasePage
from api.schemas.catalog import SlaPreview, SlaPreviewRead
from api.services import cases
from api.services.catalog import service_model
from workflows.vocabulary import Role

router = APIRouter(tags=["sla"])


@router.post("/sla/preview", response_model=SlaPreviewRead)
async def preview_sla(body: SlaPreview, db: SessionDep, _: Supervisor):
    """When an SLA of `duration_seconds` started at `start` falls due on a schedule."""
    return await service_model.preview(db=db, body=body)


@router.get("/sla/at-risk", response_model=CasePage, summary="Open cases by time to breach")
async def at_risk(
    db: ReadSessionDep,
    who: CurrentPrincipal,
    within_seconds: Annotated[int, Query(ge=0, le=366 * 24 * 3600)] = 3600,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """Running SLA clocks due within the window (already breached ones first)."""
    require(who, Role.SUPERVISOR, Role.AGENT)
    page = await cases.at_risk(db=db, within_seconds=within_seconds, queue=queue, limit=limit)
    return case_views.answer(page)
