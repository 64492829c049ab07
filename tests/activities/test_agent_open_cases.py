"""`agents.open_cases`, the count routing reads, stays what counting the open cases says,
whoever writes the case rows (a trigger keeps it, migration 0016)."""

import uuid

from sqlalchemy import delete, func, select, update

from activities import routing
from activities.db import transaction
from models.cases import Case
from models.people import Agent
from tests import factories as f
from tests.activities import rows
from workflows.vocabulary import ACTIVE, CaseState


async def counters(sessions) -> dict[uuid.UUID, int]:
    async with sessions() as db:
        return dict((await db.execute(select(Agent.id, Agent.open_cases))).all())


async def counted(sessions) -> dict[uuid.UUID, int]:
    """The open cases per agent, counted the slow way."""
    async with sessions() as db:
        held = dict(
            (
                await db.execute(
                    select(Case.assigned_agent_id, func.count())
                    .where(Case.state.in_(ACTIVE), Case.assigned_agent_id.is_not(None))
                    .group_by(Case.assigned_agent_id)
                )
            ).all()
        )
        agents = (await db.execute(select(Agent.id))).scalars()
        return {a: held.get(a, 0) for a in agents}


async def change(sessions, case_id, **values) -> None:
    async with transaction(sessions) as db:
        await db.execute(update(Case).where(Case.id == case_id).values(**values))


async def test_the_counter_follows_every_assignment_reassignment_close_and_delete(sessions):
    ann, bob = await f.agent(sessions, "Ann"), await f.agent(sessions, "Bob")
    one = await rows.case(sessions, 1, assigned_agent_id=ann.id)
    two = await rows.case(sessions, 2, assigned_agent_id=ann.id, state=CaseState.NEW)
    await rows.case(sessions, 3, assigned_agent_id=bob.id, state=CaseState.CLOSED)
    steps = [
        (None, {ann.id: 2, bob.id: 0}),
        ((one.id, {"assigned_agent_id": bob.id}), {ann.id: 1, bob.id: 1}),  # reassigned
        ((two.id, {"state": CaseState.AWAITING_INFO}), {ann.id: 1, bob.id: 1}),  # still open
        ((two.id, {"state": CaseState.RESOLVED}), {ann.id: 0, bob.id: 1}),  # not open
        ((two.id, {"state": CaseState.OPEN}), {ann.id: 1, bob.id: 1}),  # reopened
        ((two.id, {"assigned_agent_id": None}), {ann.id: 0, bob.id: 1}),  # back in the line
        (
            (one.id, {"state": CaseState.CLOSED, "assigned_agent_id": ann.id}),
            {ann.id: 0, bob.id: 0},
        ),
        ((one.id, {"state": CaseState.OPEN}), {ann.id: 1, bob.id: 0}),
    ]
    for step, expected in steps:
        if step is not None:
            await change(sessions, step[0], **step[1])
        assert await counters(sessions) == expected == await counted(sessions), step
    async with transaction(sessions) as db:
        await db.execute(delete(Case).where(Case.id == one.id))
    assert await counters(sessions) == {ann.id: 0, bob.id: 0} == await counted(sessions)


async def test_crossing_reassignments_in_one_transaction_keep_the_count(sessions):
    ann, bob = await f.agent(sessions, "Ann"), await f.agent(sessions, "Bob")
    one = await rows.case(sessions, 1, assigned_agent_id=ann.id)
    two = await rows.case(sessions, 2, assigned_agent_id=bob.id)
    async with transaction(sessions) as db:
        await db.execute(update(Case).where(Case.id == one.id).values(assigned_agent_id=bob.id))
        await db.execute(update(Case).where(Case.id == two.id).values(assigned_agent_id=ann.id))
        await db.execute(update(Case).where(Case.id == two.id).values(assigned_agent_id=bob.id))
    assert await counters(sessions) == {ann.id: 0, bob.id: 2} == await counted(sessions)


async def test_routing_fills_an_agent_to_capacity_by_the_counter_and_no_further(sessions):
    ann = await f.agent(sessions, "Ann", capacity=2)
    await rows.case(sessions, 1, assigned_agent_id=ann.id)  # one open case already
    waiting = [
        await rows.case(sessions, n, waiting_since=func.now(), state=CaseState.NEW) for n in (2, 3)
    ]
    async with transaction(sessions) as db:
        routed = await routing.dispatch(db, key="test:fill", portal_url="http://x.test/portal")
    assert [a.case_id for a in routed.assignments] == [str(waiting[0].id)]
    assert await counters(sessions) == {ann.id: 2} == await counted(sessions)
