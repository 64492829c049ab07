"""What the supervisor console shows: queue counts, agent load, the waiting line, at-risk
and recent cases; the lists filtered by queue and priority and paged by keyset."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select, tuple_

from api import pagination
from api.errors import Problem
from api.services.cases import view_of
from models.cases import Case
from models.people import Agent, Queue
from workflows.vocabulary import ACTIVE, CaseState


def first_clock(view: dict) -> dict | None:
    """The running clock that runs out first: what makes the case at risk."""
    running = [c for c in view["sla"] if c["due_at"] and not (c["stopped"] or c["paused"])]
    return min(running, key=lambda c: c["due_at"], default=None)


def clock_state(clock: dict) -> str:
    """What a clock is doing, as the console labels it (a breached clock may be paused too)."""
    for flag in ("breached", "stopped", "paused"):
        if clock[flag]:
            return flag
    return "running"


def case_row(case: Case, names: dict, now: datetime) -> dict:
    due = case.next_due_at
    view = view_of(case, now)
    return {
        "id": case.id,
        "number": case.number,
        "subject": case.subject,
        "state": case.state,
        "priority": case.priority,
        "queue": case.queue,
        "channel": case.channel,
        "requester": case.requester_name or case.requester_email,
        "assignee": names.get(case.assigned_agent_id),
        "breached": case.breached,
        "created_at": case.created_at,
        "due_at": due,
        "remaining": (due - now).total_seconds() if due else None,
        "clock": first_clock(view),
        "clocks": [
            {"name": c["name"], "kind": c["kind"], "state": clock_state(c)}
            for c in view["sla"]
            if not c["stopped"]
        ],
        "waiting_since": case.waiting_since,
    }


PRIORITIES = (1, 2, 3, 4)


def queue_counts_query(visible):
    waiting = Case.waiting_since.is_not(None)
    return (
        select(
            Case.queue,
            func.count(),
            func.count().filter(waiting),
            func.count().filter(Case.state == CaseState.AWAITING_INFO),
            func.count().filter(Case.breached.is_(True)),
            func.min(Case.waiting_since),
            *(func.count().filter(waiting, Case.priority == p) for p in PRIORITIES),
        )
        .where(Case.state.in_(ACTIVE), visible)
        .group_by(Case.queue)
    )


async def queue_counts(*, db, visible) -> list[dict]:
    """Per queue: open, waiting (and waiting by priority, the longest wait), with the
    customer, breached."""
    rows = await db.execute(queue_counts_query(visible))
    counts = {q: rest for q, *rest in rows.all()}
    for name in (await db.execute(select(Queue.name))).scalars():
        counts.setdefault(name, (0, 0, 0, 0, None, *(0 for _ in PRIORITIES)))
    keys = ("open", "waiting", "awaiting", "breached", "oldest_waiting")
    return [
        {
            "name": q,
            **dict(zip(keys, counts[q][: len(keys)], strict=True)),
            "waiting_by_priority": dict(zip(PRIORITIES, counts[q][len(keys) :], strict=True)),
        }
        for q in sorted(counts, key=lambda q: (q is None, q or ""))
    ]


async def agent_rows(*, db) -> list[dict]:
    agents = (await db.execute(select(Agent).order_by(Agent.name).limit(500))).scalars()
    return [
        {
            "id": a.id,
            "name": a.name,
            "role": a.role,
            "status": a.status,
            "load": a.open_cases,
            "capacity": a.capacity,
            "percent": min(100, round(100 * a.open_cases / a.capacity)) if a.capacity else 100,
        }
        for a in agents
    ]


# ----- the console's lists: keyset pages over (rank, time, id) ----------------------------
#
# The cursor helpers of api/pagination.py key on (time, id); these lists order by a small
# integer first (breached first; priority), so their cursor is "rank.<time, id cursor>".


def cursor(rank: int, at: datetime, row_id: uuid.UUID) -> str:
    return f"{rank}.{pagination.encode(at, row_id)}"


def after(value: str | None, rank, at) -> list:
    """The condition for the rows after `value`'s (none without one)."""
    if not value:
        return []
    head, _, rest = value.partition(".")
    if not head.isdigit():
        raise Problem(422, "the cursor is not valid", errors=[{"loc": ["query", "cursor"]}])
    moment, row_id = pagination.decode(rest)
    return [tuple_(rank, at, Case.id) > tuple_(int(head), moment, row_id)]


def filtered(query, queue: str | None, priority: int | None):
    return pagination.equal(query, Case, {"queue": queue, "priority": priority})


async def keyset(db, query, limit: int, key) -> tuple[list[Case], str | None]:
    """A page of `query`'s cases (it asks for limit + 1), and the next page's cursor (or None)."""
    rows = list((await db.execute(query)).scalars())
    more, rows = len(rows) > limit, rows[:limit]
    return rows, cursor(*key(rows[-1])) if more and rows else None


# Breached cases first (rank 0), then by time to breach: the expression of the index
# ix_cases_at_risk, so the list is read in index order (no sort of every case due soon).
AT_RISK_RANK = cast(~Case.breached, Integer)


def ranked(conditions: list, rank, at, *, queue=None, priority=None, limit=50, page=None):
    """The cases meeting `conditions` (and the filters) after `page`, by (rank, at, id)."""
    query = select(Case).where(*conditions, *after(page, rank, at))
    return filtered(query, queue, priority).order_by(rank, at, Case.id).limit(limit + 1)


def at_risk_query(*, visible, now: datetime, within: timedelta, **paging):
    """Open cases with a clock due within `within`: breached first, then the soonest due."""
    due = [Case.next_due_at.is_not(None), Case.next_due_at <= now + within]
    conditions = [visible, Case.state.in_(ACTIVE), *due]
    return ranked(conditions, AT_RISK_RANK, Case.next_due_at, **paging)


def waiting_query(*, visible, **paging):
    """The waiting line (cases waiting for an agent): highest priority, then oldest, first."""
    conditions = [visible, Case.waiting_since.is_not(None)]
    return ranked(conditions, Case.priority, Case.created_at, **paging)


async def at_risk_cases(*, db, limit: int = 50, **options) -> tuple[list[Case], str | None]:
    query = at_risk_query(limit=limit, **options)
    return await keyset(db, query, limit, lambda c: (int(not c.breached), c.next_due_at, c.id))


async def waiting_cases(*, db, limit: int = 50, **options) -> tuple[list[Case], str | None]:
    query = waiting_query(limit=limit, **options)
    return await keyset(db, query, limit, lambda c: (c.priority, c.created_at, c.id))
