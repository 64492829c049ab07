"""Service metrics: the first-time-fix rate of field service."""

from datetime import timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from api.schemas.metrics import FirstTimeFix
from models.field_service import WorkOrder
from workflows.vocabulary import WorkOrderState

FOLLOW_UP_DAYS = 30


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
    ).where(WorkOrder.state == WorkOrderState.COMPLETED)
    if since is not None:
        query = query.where(WorkOrder.completed_at >= since)
    if until is not None:
        query = query.where(WorkOrder.completed_at < until)
    return query


async def first_time_fix(*, db, since, until) -> FirstTimeFix:
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
