"""Service metrics for supervisors: the first-time-fix rate of field service."""

from fastapi import APIRouter

from api.auth import require
from api.deps import CurrentPrincipal, SessionDep
from api.errors import Problem
from api.schemas.metrics import FirstTimeFix
from api.schemas.strict import Rfc3339
from api.services import metrics
from workflows.vocabulary import Role

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics/first-time-fix",
    response_model=FirstTimeFix,
    summary="First-time-fix rate of work orders completed in [since, until)",
)
async def first_time_fix(
    db: SessionDep,
    who: CurrentPrincipal,
    since: Rfc3339 | None = None,
    until: Rfc3339 | None = None,
):
    require(who, Role.SUPERVISOR, Role.AGENT)
    if since and until and until <= since:
        raise Problem(422, "until must be after since", errors=[{"loc": ["query", "until"]}])
    return await metrics.first_time_fix(db=db, since=since, until=until)
