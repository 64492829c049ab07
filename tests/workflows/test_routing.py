"""Routing: skills, account team, round-robin, the waiting line, capacity never exceeded."""

import asyncio

from activities.opening import OpeningActivities
from tests import factories as f
from tests.conftest import make_deps, running_worker
from tests.workflows.helpers import act, events, open_for, row, wait_row
from workflows.types import IntakeInput, NewCase


async def test_routes_to_the_agent_with_every_required_skill(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    await f.skill(sessions, "networking")
    await f.skill(sessions, "billing")
    await f.agent(sessions, "Bill", skills={"billing": 3})
    net = await f.agent(sessions, "Nina", skills={"networking": 2, "billing": 1})
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        case = await open_for(sessions, ts_env.client, tq, ada, required_skills=["networking"])
        got = await wait_row(sessions, case.id, lambda c: c.assigned_agent_id)
    assert got.assigned_agent_id == net.id


async def test_account_team_comes_first_even_when_busier(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    await f.agent(sessions, "Idle")
    member = await f.agent(sessions, "Member")
    await f.team_member(sessions, acct.id, member.id)
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        first = await open_for(sessions, ts_env.client, tq, ada)
        second = await open_for(sessions, ts_env.client, tq, ada)
        a = await wait_row(sessions, first.id, lambda c: c.assigned_agent_id)
        b = await wait_row(sessions, second.id, lambda c: c.assigned_agent_id)
    assert a.assigned_agent_id == member.id
    assert b.assigned_agent_id == member.id


async def test_round_robin_without_a_skill_catalog(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    agents = [await f.agent(sessions, n, capacity=10) for n in ("A1", "A2", "A3")]
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        got = []
        for _ in range(6):
            case = await open_for(sessions, ts_env.client, tq, ada)
            got.append(await wait_row(sessions, case.id, lambda c: c.assigned_agent_id))
    order = [c.assigned_agent_id for c in got]
    assert set(order[:3]) == {a.id for a in agents}
    assert order[3:] == order[:3]  # and round again, in the same order


async def test_waits_when_nobody_is_available_then_assigned_when_capacity_frees(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    solo = await f.agent(sessions, "Solo", capacity=1)
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        first = await open_for(sessions, ts_env.client, tq, ada)
        await wait_row(sessions, first.id, lambda c: c.assigned_agent_id)
        second = await open_for(sessions, ts_env.client, tq, ada)
        waiting = await wait_row(sessions, second.id, lambda c: c.waiting_since is not None)
        assert waiting.assigned_agent_id is None
        await act(ts_env.client, first, "resolve", body="fixed")
        freed = await wait_row(sessions, second.id, lambda c: c.assigned_agent_id)
    assert freed.assigned_agent_id == solo.id
    assert freed.waiting_since is None


async def test_waiting_cases_are_served_highest_priority_then_oldest(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    busy = await f.agent(sessions, "Busy", capacity=1)
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        blocker = await open_for(sessions, ts_env.client, tq, ada)
        await wait_row(sessions, blocker.id, lambda c: c.assigned_agent_id)
        low_old = await open_for(sessions, ts_env.client, tq, ada, priority=4)
        high = await open_for(sessions, ts_env.client, tq, ada, priority=1)
        low_new = await open_for(sessions, ts_env.client, tq, ada, priority=4)
        for c in (low_old, high, low_new):
            await wait_row(sessions, c.id, lambda c: c.waiting_since is not None)
        served = []
        current = blocker
        for _ in range(3):
            await act(ts_env.client, current, "resolve", body="done")
            current = await _next_assigned(sessions, [low_old, high, low_new], served)
            served.append(current)
    assert [c.id for c in served] == [high.id, low_old.id, low_new.id]
    for c in served:
        assert (await row(sessions, c.id)).assigned_agent_id == busy.id


async def _next_assigned(sessions, cases, served):
    for _ in range(300):
        for c in cases:
            if c.id in [s.id for s in served]:
                continue
            if (await row(sessions, c.id)).assigned_agent_id:
                return c
        await asyncio.sleep(0.05)
    raise AssertionError("no case was assigned")


async def test_fifty_cases_at_once_never_exceed_capacity(sessions, ts_env):
    """50 cases, 3 agents of capacity 2: exactly 6 assigned, the rest wait in priority order."""
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    agents = [await f.agent(sessions, n, capacity=2) for n in ("P", "Q", "R")]
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        cases = await asyncio.gather(
            *(
                open_for(sessions, ts_env.client, tq, ada, priority=1 + i % 4, subject=f"c{i}")
                for i in range(50)
            )
        )
        rows = await _all_routed(sessions, cases)
        assigned = [r for r in rows if r.assigned_agent_id]
        assert len(assigned) == 6
        for agent in agents:
            assert sum(r.assigned_agent_id == agent.id for r in rows) == 2
        # Free capacity one resolution at a time: each frees exactly one slot, which goes to
        # the highest-priority, oldest waiting case.
        assigned_ids = {r.id for r in assigned}
        newly = []
        while len(assigned_ids) < 50:
            rows = {c.id: await row(sessions, c.id) for c in cases}
            target = next(r for r in rows.values() if r.assigned_agent_id and r.state == "open")
            await act(ts_env.client, target, "resolve", body="ok")
            rows = await _until_assigned(sessions, cases, len(assigned_ids) + 1)
            fresh = [r for r in rows if r.assigned_agent_id and r.id not in assigned_ids]
            assert len(fresh) == 1
            newly.append(fresh[0])
            assigned_ids.add(fresh[0].id)
            open_rows = [r for r in rows if r.state == "open" and r.assigned_agent_id]
            for agent in agents:
                assert sum(r.assigned_agent_id == agent.id for r in open_rows) <= 2
    assert [(r.priority, r.created_at) for r in newly] == sorted(
        (r.priority, r.created_at) for r in newly
    )


async def _all_routed(sessions, cases):
    for _ in range(400):
        rows = [await row(sessions, c.id) for c in cases]
        if all(r.assigned_agent_id or r.waiting_since for r in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError("not every case was routed or queued")


async def _until_assigned(sessions, cases, n):
    for _ in range(400):
        rows = [await row(sessions, c.id) for c in cases]
        if sum(1 for r in rows if r.assigned_agent_id) >= n:
            await asyncio.sleep(0.1)  # and no more than that
            return [await row(sessions, c.id) for c in cases]
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {n} cases assigned")


async def test_a_retried_opening_of_a_waiting_case_answers_the_same(sessions, ts_env):
    """open_case retried after its commit (the worker died before reporting): same answer,
    no second "queued" event, no error from the event it already wrote."""
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    await f.agent(sessions, "Away", status="away")
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        case = await open_for(sessions, ts_env.client, tq, ada)
        await wait_row(sessions, case.id, lambda c: c.waiting_since is not None)
    opening = OpeningActivities(make_deps(sessions))
    new = NewCase(subject="Router down", channel="email", contact_id=str(ada.id))
    again = await opening.open_case(IntakeInput(str(case.id), case.number, new))
    assert again.intake.queue == "support" and again.routed.assignments == []
    assert (await row(sessions, case.id)).subject == "Router down"  # the row it inserted
    assert await events(sessions, case.id) == ["opened", "queued"]
