"""Service metrics for supervisors: the first-time-fix rate of field service."""

from datetime import timedelta

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from api.auth import require
from api.deps import CurrentPrincipal, SessionDep
from api.errors import Problem
from api.schemas.strict import Rfc3339
from models.field_service import WorkOrder

router = APIRouter(tags=["metrics"])
FOLLOW_UP_DAYS = 30


class FirstTimeFix(BaseModel):
    completed: int
    fixed: int
    first_time_fixed: int
    rate: float | None  # first_time_fixed / completed; None when nothing was completed
    window_days: int
    since: AwareDatetime | None
    until: AwareDatetime | None


def first_time_fix_query(since=None, until=None):
    """Completed work orders, those fixed, and those fixed the first time: fixed, with no
    later work order on the same case and asset within 30 days of the completion."""
    later = aliased(WorkOrder)
    follow_up = exists().where(
        later.case_id == WorkOrder.case_id,
        later.asset_id.is_not_distinct_from(WorkOrder.asset_id),
        later.id != WorkOrder.id,
        later.created_at > WorkOrder.created_at,
        later.created_at <= WorkOrder.completed_at + timedelta(days=FOLLOW_UP_DAYS),
    )
    fixed = WorkOrder.fixed.is_(True)
    query = select(
        func.count(),
        func.count().filter(fixed),
        func.count().filter(and_(fixed, ~follow_up)),
    ).where(WorkOrder.state == "completed")
    if since is not None:
        query = query.where(WorkOrder.completed_at >= since)
    if until is not None:
        query = query.where(WorkOrder.completed_at < until)
    return query


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
    require(who, "supervisor", "agent")
    if since and until and until <= since:
        raise Problem(422, "until must be after since", errors=[{"loc": ["query", "until"]}])
    completed, fixed, first = (await db.execute(first_time_fix_query(since, until))).one()
    return FirstTimeFix(
        completed=completed,
        fixed=fixed,
        first_time_fixed=first,
        rate=round(first / completed, 4) if completed else None,
        window_days=FOLLOW_UP_DAYS,
        since=since,
        until=until,
    )
