"""What the supervisor console shows: queue counts, agent load, at-risk and recent cases."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from api.services.cases import view_of
from models.cases import Case
from models.people import Agent, Queue
from workflows.vocabulary import ACTIVE, CaseState


def first_clock(view: dict) -> dict | None:
    """The running clock that runs out first: what makes the case at risk."""
    running = [c for c in view["sla"] if c["due_at"] and not (c["stopped"] or c["paused"])]
    return min(running, key=lambda c: c["due_at"], default=None)


def case_row(case: Case, names: dict, now: datetime) -> dict:
    due = case.next_due_at
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
        "clock": first_clock(view_of(case, now)),
    }


async def queue_counts(*, db, visible) -> list[dict]:
    rows = await db.execute(
        select(
            Case.queue,
            func.count(),
            func.count().filter(Case.waiting_since.is_not(None)),
            func.count().filter(Case.state == CaseState.AWAITING_INFO),
            func.count().filter(Case.breached.is_(True)),
        )
        .where(Case.state.in_(ACTIVE), visible)
        .group_by(Case.queue)
    )
    counts = {q: (n, w, a, b) for q, n, w, a, b in rows.all()}
    for name in (await db.execute(select(Queue.name))).scalars():
        counts.setdefault(name, (0, 0, 0, 0))
    keys = ("open", "waiting", "awaiting", "breached")
    return [
        {"name": q, **dict(zip(keys, counts[q], strict=True))}
        for q in sorted(counts, key=lambda q: (q is None, q or ""))
    ]


async def agent_rows(*, db) -> list[dict]:
    loads = dict(
        (
            await db.execute(
                select(Case.assigned_agent_id, func.count())
                .where(Case.state.in_(ACTIVE), Case.assigned_agent_id.is_not(None))
                .group_by(Case.assigned_agent_id)
            )
        ).all()
    )
    agents = (await db.execute(select(Agent).order_by(Agent.name).limit(500))).scalars()
    return [
        {
            "id": a.id,
            "name": a.name,
            "role": a.role,
            "status": a.status,
            "load": loads.get(a.id, 0),
            "capacity": a.capacity,
            "percent": min(100, round(100 * loads.get(a.id, 0) / a.capacity))
            if a.capacity
            else 100,
        }
        for a in agents
    ]


async def at_risk_cases(*, db, visible, now: datetime, within: timedelta) -> list[Case]:
    query = (
        select(Case)
        .where(
            visible,
            Case.state.in_(ACTIVE),
            Case.next_due_at.is_not(None),
            Case.next_due_at <= now + within,
        )
        .order_by(Case.next_due_at, Case.id)
        .limit(50)
    )
    return list((await db.execute(query)).scalars().all())
