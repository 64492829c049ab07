"""Service metrics over a window: SLA attainment, first-contact resolution, reopen rate,
median times to first response and resolution, backlog, CSAT and first-time fix."""

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select, text
from sqlalchemy.orm import aliased

from api.errors import Problem
from api.schemas.metrics import (
    Attainment,
    Backlog,
    Csat,
    FirstTimeFix,
    MedianSeries,
    RatioSeries,
    Summary,
)
from models.field_service import WorkOrder
from workflows.actions import Action
from workflows.vocabulary import CaseState, Channel, KnowledgeVerdict, Role, WorkOrderState

FOLLOW_UP_DAYS = 30
READERS = (Role.SUPERVISOR, Role.AGENT)  # who may read the metrics (and admin)


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


# ----- the service metrics over a [since, until) window --------------------------------
#
# Definitions (docs: api/services/metrics.py is where they live; tests/api/test_metrics.py
# computes each by hand):
# - SLA attainment: the clocks (the `sla` JSON of each case created in the window) that are
#   decided — stopped, or breached — and of those the ones met: stopped without a breach.
#   A clock still running or paused and not breached is not yet decided and not counted.
#   By the week (UTC, from Monday) and the priority of the case's creation.
# - First-contact resolution: of the cases resolved in the window (resolved_at), those with
#   exactly one public `respond` event (one agent reply) and never reopened (reopen_count 0).
# - Reopen rate: of the cases resolved in the window and now resolved or closed, those
#   reopened at least once (reopen_count > 0).
# - Time to first response: first public `respond` event - created_at, over the cases
#   created in the window that have one; time to resolution: resolved_at - created_at over
#   the cases resolved in the window. Both the median, in wall-clock seconds.
# - Backlog: the cases open (created, not yet closed: closed_at) at the end of each day or
#   week of the window, and at its end.
# - CSAT: the survey answers (cases.csat) given in the window: average score and count.
# - Deflection rate: deflections (a customer said a suggested article solved it: once a day per
#   customer and article) / (deflections + cases opened on the portal), both in the window,
#   by the week each happened.

DEFAULT_WEEKS = 8
BUCKETS = {"day": timedelta(days=1), "week": timedelta(weeks=1)}
MAX_PERIODS = 1000  # a backlog's points (about 19 years of weeks)
DONE = [str(CaseState.RESOLVED), str(CaseState.CLOSED)]
RESPOND = str(Action.RESPOND)


def window(since: datetime | None, until: datetime | None, now: datetime) -> tuple:
    """The window asked for: until defaults to now, since to 8 weeks before until."""
    until = until or now
    try:
        since = since or until - timedelta(weeks=DEFAULT_WEEKS)
    except OverflowError as err:  # an until near year 1
        raise Problem(422, "until is too early", errors=[{"loc": ["query", "until"]}]) from err
    if until <= since:
        raise Problem(422, "until must be after since", errors=[{"loc": ["query", "until"]}])
    return since, until


def week(column: str) -> str:
    return f"date_trunc('week', {column} AT TIME ZONE 'UTC')::date AS week"


def between(column: str) -> str:
    return f"{column} >= :since AND {column} < :until"


RATIO = "count(*) FILTER (WHERE hit) AS count, count(*) AS of"
MEDIAN = "percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS seconds, count(*) AS count"
SCORE = "avg(score)::float AS average, count(*) AS count"
FLAG = "coalesce((k->>'{0}')::boolean, false)"
ATTAINMENT = f"""
SELECT {week("c.created_at")}, c.priority, NOT {FLAG.format("breached")} AS hit
FROM cases c CROSS JOIN LATERAL jsonb_array_elements(c.sla) k
WHERE {between("c.created_at")} AND ({FLAG.format("breached")} OR {FLAG.format("stopped")})
"""
ONE_REPLY = """(SELECT count(*) FROM case_events e
  WHERE e.case_id = c.id AND e.kind = :respond AND e.public) = 1"""
FCR = f"""
SELECT {week("c.resolved_at")}, (c.reopen_count = 0 AND {ONE_REPLY}) AS hit
FROM cases c WHERE {between("c.resolved_at")}
"""
REOPENED = f"""
SELECT {week("c.resolved_at")}, c.reopen_count > 0 AS hit
FROM cases c WHERE {between("c.resolved_at")} AND c.state = ANY(:done)
"""
FIRST_RESPONSE = f"""
SELECT {week("c.created_at")}, extract(epoch FROM min(e.at) - c.created_at) AS seconds
FROM cases c JOIN case_events e ON e.case_id = c.id AND e.kind = :respond AND e.public
WHERE {between("c.created_at")} GROUP BY c.id, c.created_at
"""
RESOLUTION = f"""
SELECT {week("c.resolved_at")}, extract(epoch FROM c.resolved_at - c.created_at) AS seconds
FROM cases c WHERE {between("c.resolved_at")}
"""
ANSWERED = "(c.csat->>'at')::timestamptz"
CSAT = f"""
SELECT {week(ANSWERED)}, (c.csat->>'score')::int AS score
FROM cases c WHERE c.csat IS NOT NULL AND {between(ANSWERED)}
"""
DEFLECTED = f"""
SELECT {week("f.at")}, true AS hit FROM knowledge_feedback f
WHERE f.verdict = '{KnowledgeVerdict.SOLVED}' AND {between("f.at")}
UNION ALL
SELECT {week("c.created_at")}, false AS hit FROM cases c
WHERE c.channel = '{Channel.PORTAL}' AND {between("c.created_at")}
"""
BACKLOG = """
SELECT t AS at, (SELECT count(*) FROM cases c
  WHERE c.created_at < t AND (c.closed_at IS NULL OR c.closed_at >= t)) AS open
FROM unnest(CAST(:ends AS timestamptz[])) AS t ORDER BY t
"""


async def grouped(db, inner: str, measure: str, keys: tuple[str, ...], since, until) -> dict:
    """`measure` over the rows of `inner`, in total (key "total") and by each key alone."""
    sets = ", ".join(f"({k})" for k in keys)
    sql = (
        f"SELECT {', '.join(keys)}, {measure} FROM ({inner}) s "
        f"GROUP BY GROUPING SETS ({sets}, ()) ORDER BY {', '.join(keys)}"
    )
    params = {"since": since, "until": until, "respond": RESPOND, "done": DONE}
    out: dict = {"total": None, **{k: [] for k in keys}}
    for row in (await db.execute(text(sql), params)).mappings():
        given = [k for k in keys if row[k] is not None]
        values = dict(row)
        if not given:
            out["total"] = values
        else:
            out[given[0]].append(values)
    return out


def ratio(row: dict | None) -> dict:
    count, of = (row["count"], row["of"]) if row else (0, 0)
    return {"count": count, "of": of, "rate": round(count / of, 4) if of else None}


def median(row: dict | None) -> dict:
    return {"seconds": row["seconds"] if row else None, "count": row["count"] if row else 0}


async def ratio_series(db, inner: str, since, until, keys=("week",)) -> dict:
    rows = await grouped(db, inner, RATIO, keys, since, until)
    out = {"since": since, "until": until, "total": ratio(rows["total"])}
    for key in keys:
        out[f"by_{key}"] = [{key: r[key], **ratio(r)} for r in rows[key]]
    return out


async def median_series(db, inner: str, since, until) -> MedianSeries:
    rows = await grouped(db, inner, MEDIAN, ("week",), since, until)
    return MedianSeries(
        since=since,
        until=until,
        total=median(rows["total"]),
        by_week=[{"week": r["week"], **median(r)} for r in rows["week"]],
    )


async def sla_attainment(*, db, since, until) -> Attainment:
    keys = ("week", "priority")
    return Attainment(**await ratio_series(db, ATTAINMENT, since, until, keys))


async def first_contact_resolution(*, db, since, until) -> RatioSeries:
    return RatioSeries(**await ratio_series(db, FCR, since, until))


async def reopen_rate(*, db, since, until) -> RatioSeries:
    return RatioSeries(**await ratio_series(db, REOPENED, since, until))


async def deflection(*, db, since, until) -> RatioSeries:
    """Deflections (a customer said a suggested article solved it: once a day per customer and
    article) of deflections + cases opened on the portal, in the window and by week (UTC, from
    Monday): `count` is the deflections, `of` the deflections plus the portal cases."""
    return RatioSeries(**await ratio_series(db, DEFLECTED, since, until))


async def first_response(*, db, since, until) -> MedianSeries:
    return await median_series(db, FIRST_RESPONSE, since, until)


async def resolution(*, db, since, until) -> MedianSeries:
    return await median_series(db, RESOLUTION, since, until)


def period_ends(since: datetime, until: datetime, step: timedelta) -> list[datetime]:
    """The end of each whole period from `since`, and `until` itself."""
    ends, at = [], since + step
    while at < until:
        ends.append(at)
        at += step
    return [*ends, until]


async def backlog(*, db, since, until, bucket: str = "week") -> Backlog:
    if (until - since) / BUCKETS[bucket] > MAX_PERIODS:
        raise Problem(
            422,
            f"a backlog has at most {MAX_PERIODS} points: choose a shorter window or weeks",
            errors=[{"loc": ["query", "since"]}],
        )
    ends = period_ends(since, until, BUCKETS[bucket])
    rows = (await db.execute(text(BACKLOG), {"ends": ends})).mappings()
    return Backlog(since=since, until=until, bucket=bucket, points=[dict(r) for r in rows])


async def csat(*, db, since, until) -> Csat:
    rows = await grouped(db, CSAT, SCORE, ("week", "score"), since, until)
    total = rows["total"] or {"average": None, "count": 0}
    return Csat(
        since=since,
        until=until,
        total={"average": total["average"], "count": total["count"]},
        by_score={s: 0 for s in range(1, 6)} | {r["score"]: r["count"] for r in rows["score"]},
        by_week=[{k: r[k] for k in ("week", "average", "count")} for r in rows["week"]],
    )


async def summary(*, db, since, until) -> Summary:
    """Every metric over one window (the metrics page)."""
    window_ = {"db": db, "since": since, "until": until}
    return Summary(
        since=since,
        until=until,
        sla_attainment=await sla_attainment(**window_),
        first_contact_resolution=await first_contact_resolution(**window_),
        reopen_rate=await reopen_rate(**window_),
        first_response=await first_response(**window_),
        resolution=await resolution(**window_),
        backlog=await backlog(**window_),
        csat=await csat(**window_),
        first_time_fix=await first_time_fix(**window_),
        deflection=await deflection(**window_),
    )
