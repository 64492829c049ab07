"""Service metrics for supervisors and agents (JSON), each over a [since, until) window
(default: the 8 weeks up to now); the definitions are in api/services/metrics.py."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request

from api.auth import require
from api.deps import CurrentPrincipal, SessionDep
from api.errors import Problem
from api.pagination import CursorQ, LimitQ
from api.schemas import metrics as schemas
from api.services import health, metrics

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics/first-time-fix",
    response_model=schemas.FirstTimeFix,
    summary="First-time-fix rate of work orders completed in [since, until)",
)
async def first_time_fix(
    db: SessionDep,
    who: CurrentPrincipal,
    since: schemas.Edge | None = None,
    until: schemas.Edge | None = None,
):
    """Of the work orders completed in the window [since, until) (default: the 8 weeks before
    now), those fixed, and those fixed the first time (no later work order on the same case and
    asset within 30 days). Supervisors and agents."""
    require(who, *metrics.READERS)
    if since and until and until <= since:
        raise Problem(422, "until must be after since", errors=[{"loc": ["query", "until"]}])
    return await metrics.first_time_fix(db=db, since=since, until=until)


async def no_options() -> dict:
    return {}


async def bucket_option(bucket: Literal["day", "week"] = "week") -> dict:
    """The backlog's period: open cases at the end of each day or week."""
    return {"bucket": bucket}


def windowed(path: str, measure, model, summary: str, options=no_options) -> None:
    """GET /metrics/{path}: `measure` over the window asked for (and its own `options`)."""

    async def endpoint(
        db: SessionDep,
        who: CurrentPrincipal,
        extra: Annotated[dict, Depends(options)],
        since: schemas.Edge | None = None,
        until: schemas.Edge | None = None,
    ):
        require(who, *metrics.READERS)
        since, until = metrics.window(since, until, datetime.now(UTC))
        return await measure(db=db, since=since, until=until, **extra)

    endpoint.__name__ = path.replace("-", "_")
    router.add_api_route(
        f"/metrics/{path}",
        endpoint,
        methods=["GET"],
        response_model=model,
        summary=summary,
        description=measure.__doc__ or summary,
    )


for _path, _measure, _model, _summary in (
    ("summary", metrics.summary, schemas.Summary, "Every service metric over one window"),
    (
        "sla-attainment",
        metrics.sla_attainment,
        schemas.Attainment,
        "SLA clocks met (stopped without breach) of those decided, by week and priority",
    ),
    (
        "first-contact-resolution",
        metrics.first_contact_resolution,
        schemas.RatioSeries,
        "Cases resolved with one agent reply and never reopened, of those resolved",
    ),
    (
        "reopen-rate",
        metrics.reopen_rate,
        schemas.RatioSeries,
        "Resolved or closed cases reopened at least once",
    ),
    (
        "first-response",
        metrics.first_response,
        schemas.MedianSeries,
        "Median time from opening to the first agent reply",
    ),
    (
        "resolution",
        metrics.resolution,
        schemas.MedianSeries,
        "Median time from opening to resolution",
    ),
    ("csat", metrics.csat, schemas.Csat, "Customer satisfaction: average score and count"),
    (
        "deflection",
        metrics.deflection,
        schemas.RatioSeries,
        "Deflection rate: deflections / (deflections + portal cases), by week",
    ),
):
    windowed(_path, _measure, _model, _summary)
windowed(
    "backlog",
    metrics.backlog,
    schemas.Backlog,
    "Open cases at the end of each day or week of [since, until)",
    bucket_option,
)


@router.get(
    "/metrics/health",
    response_model=schemas.AccountHealthList,
    summary="Customer health: every account's 0-100 score with its reasons, most at risk first",
)
async def account_health(
    request: Request,
    db: SessionDep,
    who: CurrentPrincipal,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
):
    """Each account's health over the last 28 days: 100 less what case-volume growth (against
    the 28 days before), SLA attainment, CSAT, reopen rate and open major cases touching it
    take off (weights and ends in api/services/health_score.py). Lowest score first; `band`
    is healthy (80+), watch (60-79) or at_risk; `reasons` name the inputs that cost points,
    heaviest first; `factors` give each input's value and penalty. Scores are computed at
    most 5 minutes before (`until` says when)."""
    require(who, *metrics.READERS)
    cache = health.cache_of(request.app)
    now = datetime.now(UTC)
    return await health.accounts(db=db, now=now, limit=limit, cursor=cursor, cache=cache)
