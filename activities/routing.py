"""Dispatch: assign waiting cases to agents, one serialised decision at a time."""

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities import outbox
from activities.db import ROUTING_LOCK, event_once, hold_lock, set_case, transaction
from activities.deps import Deps
from models.cases import Assignment, Case, Notification
from models.people import AccountTeamMember, Agent, Skill
from workflows.agent_choice import Candidate, pick_agent
from workflows.types import AssignmentMade, DispatchInput, DispatchResult
from workflows.vocabulary import ACTIVE, Role

BATCH = 500
# What a waiting case's routing and its agent's mail need: plain rows, no ORM objects.
WAITING_COLUMNS = (
    Case.id,
    Case.number,
    Case.workflow_id,
    Case.subject,
    Case.priority,
    Case.state,
    Case.queue,
    Case.account_id,
    Case.required_skills,
    Case.reopen_window_ends_at,
    Case.sla,
    Case.requester_name,
)
# Constant statements: compiled once, each call binds its values.
# Each agent's open cases: a counter a trigger keeps (migration 0016), one row per agent
# whatever the number of open cases.
_LOADS = select(Agent.id, Agent.open_cases).where(Agent.open_cases > 0)
_DECISIONS = (
    select(
        Assignment.id, Assignment.case_id, Assignment.agent_id, Case.workflow_id, Notification.id
    )
    .join(Case, Case.id == Assignment.case_id)
    .outerjoin(
        Notification,
        Notification.key == func.concat(Assignment.case_id, ":assignment:", Assignment.id),
    )
    .where(Assignment.dispatch_key == bindparam("key"))
)
_QUEUED_CASE = (
    select(
        Case.id,
        Case.state,
        Case.assigned_agent_id,
        Case.waiting_since,
        Case.queue,
        Case.required_skills,
    )
    .where(Case.id == bindparam("case"))
    .with_for_update(key_share=True)
)
_AGENT_STATE = select(Agent.status, Agent.capacity).where(Agent.id == bindparam("agent"))
_WAITING = (
    select(*WAITING_COLUMNS)
    .where(
        Case.waiting_since.is_not(None),
        Case.assigned_agent_id.is_(None),
        Case.state.in_(ACTIVE),
    )
    .order_by(Case.priority, Case.created_at)
    .limit(BATCH)
    # NO KEY: a child case's insert holds KEY SHARE on its waiting major case (the foreign
    # key) while it waits for the routing lock; FOR UPDATE here would deadlock with it.
    .with_for_update(key_share=True)
)
_AVAILABLE = select(
    Agent.id,
    Agent.capacity,
    Agent.skills,
    Agent.groups,
    Agent.last_assigned_at,
    Agent.name,
    Agent.email,
).where(Agent.status == "available", Agent.role == Role.AGENT)
_HAS_SKILLS = select(exists().select_from(Skill))
_TEAMS = select(AccountTeamMember.account_id, AccountTeamMember.agent_id).where(
    AccountTeamMember.account_id.in_(bindparam("accounts", expanding=True))
)
_AGENTS = cast(Table, Agent.__table__)
_SET_AGENT = update(_AGENTS).where(_AGENTS.c.id == bindparam("agent"))
_ASSIGN = insert(cast(Table, Assignment.__table__))


async def agent_loads(db: AsyncSession) -> dict[uuid.UUID, int]:
    return {agent_id: load for agent_id, load in (await db.execute(_LOADS)).all()}


async def previous_decisions(db: AsyncSession, key: str) -> list[AssignmentMade]:
    rows = await db.execute(_DECISIONS, {"key": key})
    return [
        AssignmentMade(str(a), str(case), wf, str(agent), str(n) if n else None)
        for a, case, agent, wf, n in rows.all()
    ]


async def dispatch(
    db: AsyncSession,
    *,
    key: str,
    enqueue_case_id: str | None = None,
    keep_agent_id: str | None = None,
    portal_url: str,
    enqueue_more: Sequence[str] = (),
) -> DispatchResult:
    """Enqueue the case (if any) and assign what waits, in the caller's transaction.

    `key` makes a retried dispatch answer with the decisions it made; `keep_agent_id` (a
    reopened case) keeps its agent when that agent is available with spare capacity.
    `enqueue_more`: further new cases enqueued in the same decision (an event's children
    opened in bulk: one routing decision per batch, not one per case).
    """
    # Every routing decision runs under one lock: capacity is never overbooked.
    await hold_lock(db, ROUTING_LOCK)
    earlier = await previous_decisions(db, key)
    if earlier:
        return DispatchResult(earlier)
    now = datetime.now(UTC)
    result = DispatchResult()
    loads = await agent_loads(db)
    queued = []
    for case_id in [enqueue_case_id, *enqueue_more] if enqueue_case_id else enqueue_more:
        case = await _enqueue(db, uuid.UUID(case_id), keep_agent_id, loads, now, result)
        if case is not None:
            queued.append(case)
    await _assign_waiting(db, key, loads, now, result, portal_url)
    assigned = {a.case_id for a in result.assignments}
    for case in queued:
        if str(case.id) not in assigned:
            await _note_still_waiting(db, key, case, now)
    return result


async def _enqueue(
    db: AsyncSession,
    case_id: uuid.UUID,
    keep_agent_id: str | None,
    loads: dict[uuid.UUID, int],
    now: datetime,
    result: DispatchResult,
) -> Row[Any] | None:
    """Put the case in the waiting line, unless its agent keeps it; its row if it waits."""
    case = (await db.execute(_QUEUED_CASE, {"case": case_id})).first()
    if case is None or case.state not in ACTIVE:
        return None
    changes: dict[str, Any] = {}
    if case.assigned_agent_id is not None:
        agent = (await db.execute(_AGENT_STATE, {"agent": case.assigned_agent_id})).first()
        kept = (
            agent is not None
            and keep_agent_id == str(case.assigned_agent_id)
            and agent.status == "available"
            and loads.get(case.assigned_agent_id, 0) <= agent.capacity  # counts this case
        )
        if kept:
            return None
        loads[case.assigned_agent_id] = loads.get(case.assigned_agent_id, 1) - 1
        changes["assigned_agent_id"] = None
        result.unassigned.append(str(case.id))
    if case.waiting_since is None:
        changes["waiting_since"] = now
    if changes:
        await set_case(db, case_id, **changes)
    return cast(Row[Any], case)


async def _note_still_waiting(db: AsyncSession, key: str, case: Row[Any], now: datetime) -> None:
    await event_once(
        db,
        case_id=case.id,
        key=f"queued:{key}",
        kind="queued",
        public=False,
        body="No agent with the skills and spare capacity is available; waiting.",
        data={"queue": case.queue, "required_skills": case.required_skills},
        at=now,
    )


async def _assign_waiting(
    db: AsyncSession,
    key: str,
    loads: dict[uuid.UUID, int],
    now: datetime,
    result: DispatchResult,
    portal_url: str,
) -> None:
    # Plain rows, not locked: every routing decision already runs under the routing lock,
    # and a change of availability starts a dispatch of its own. An agent at capacity can
    # take nothing in this decision (loads only grow in it): with no one left, the waiting
    # line (up to BATCH rows, locked) is not even read, the usual case in a backlog.
    agents = [a for a in (await db.execute(_AVAILABLE)).all() if loads.get(a.id, 0) < a.capacity]
    if not agents:
        return
    waiting = (await db.execute(_WAITING)).all()
    if not waiting:
        return
    refs = {a.id: outbox.AgentRef(a.name, a.email) for a in agents}
    candidates = [
        Candidate(
            str(a.id),
            loads.get(a.id, 0),
            a.capacity,
            a.skills or {},
            a.groups or [],
            a.last_assigned_at,
            a.name,
        )
        for a in agents
    ]
    round_robin = not (await db.execute(_HAS_SKILLS)).scalar()
    teams: dict[uuid.UUID, set[str]] = {}
    accounts = {c.account_id for c in waiting if c.account_id}
    if accounts:
        rows = await db.execute(_TEAMS, {"accounts": list(accounts)})
        for account_id, agent_id in rows.all():
            teams.setdefault(account_id, set()).add(str(agent_id))
    for case in waiting:
        chosen = pick_agent(
            candidates,
            required_skills=case.required_skills or [],
            queue=case.queue,
            account_team=teams.get(case.account_id, set()),
            round_robin=round_robin,
        )
        if chosen is None:
            continue
        chosen.load += 1
        chosen.last_assigned_at = now
        agent_id = uuid.UUID(chosen.agent_id)
        made = uuid.uuid4()
        await db.execute(_SET_AGENT, {"agent": agent_id, "last_assigned_at": now})
        await set_case(db, case.id, assigned_agent_id=agent_id, waiting_since=None)
        await db.execute(
            _ASSIGN, {"id": made, "case_id": case.id, "agent_id": agent_id, "dispatch_key": key}
        )
        await event_once(
            db,
            case_id=case.id,
            key=f"assigned:{made}",
            kind="assigned",
            actor_role="system",
            public=False,
            data={"agent_id": str(agent_id), "agent": refs[agent_id].name, "by": "routing"},
            at=now,
        )
        nid = await outbox.enqueue(
            db,
            case=case,
            key=f"{case.id}:assignment:{made}",
            template="assignment",
            to="agent",
            portal_url=portal_url,
            agent=refs[agent_id],
        )
        result.assignments.append(
            AssignmentMade(str(made), str(case.id), case.workflow_id, str(agent_id), str(nid))
        )


class RoutingActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="dispatch_cases")
    async def dispatch_cases(self, arg: DispatchInput) -> DispatchResult:
        async with transaction(self.deps.sessions) as db:
            return await dispatch(db, **asdict(arg), portal_url=self.deps.portal_url)
