"""run_update on a busy workflow, against handles that answer as the Temporal server does:
waits its turn, resends the same update id, answers 429 only when the budget is spent, and
never answers a request as failed when its update was recorded."""

import asyncio
from datetime import timedelta

import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Problem
from api.updates import IN_FLIGHT_PER_WORKFLOW, run_update

LIMIT = "limit on number of concurrent in-flight updates has been reached (10)"


class BusyHandle:
    """Refuses the first `refusals` sends with `status`, then applies the update."""

    def __init__(self, refusals: int, status=RPCStatusCode.RESOURCE_EXHAUSTED) -> None:
        self.id, self.refusals, self.status = "case-busy", refusals, status
        self.ids: list[str] = []

    async def execute_update(self, update, arg, *, id, rpc_timeout):
        self.ids.append(id)
        if len(self.ids) <= self.refusals:
            raise RPCError(LIMIT, self.status, b"")
        return "done"


async def test_a_refused_update_is_resent_with_the_same_id_until_admitted():
    handle = BusyHandle(refusals=5)
    assert await run_update(handle, "note", None, action="note", what="case")
    assert len(handle.ids) == 6 and len(set(handle.ids)) == 1


async def test_an_aborted_update_is_resent_too():
    handle = BusyHandle(refusals=2, status=RPCStatusCode.UNAVAILABLE)
    assert await run_update(handle, "note", None, action="note", what="case")
    assert len(set(handle.ids)) == 1


async def test_a_workflow_busy_for_the_whole_budget_is_a_429_with_retry_after():
    with pytest.raises(Problem) as info:
        await run_update(
            BusyHandle(refusals=10**6),
            "note",
            None,
            action="note",
            what="case",
            timeout=timedelta(seconds=0.5),
        )
    assert info.value.status == 429 and info.value.headers["Retry-After"]


async def test_a_refused_update_that_was_recorded_anyway_is_a_success():
    asked = []

    async def applied(update_id: str) -> bool:
        asked.append(update_id)
        return True

    handle = BusyHandle(refusals=10**6)
    assert await run_update(
        handle,
        "note",
        None,
        action="note",
        what="case",
        applied=applied,
        timeout=timedelta(seconds=0.3),
    )
    assert asked == [handle.ids[0]]


class SlowHandle:
    """Holds every update until `release` is set, counting how many are in flight at once."""

    def __init__(self) -> None:
        self.id = "case-slow"
        self.release = asyncio.Event()
        self.in_flight = self.most = 0

    async def execute_update(self, update, arg, *, id, rpc_timeout):
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1


async def test_one_process_keeps_fewer_updates_in_flight_than_the_server_admits():
    handle = SlowHandle()
    sends = [
        asyncio.create_task(run_update(handle, "note", None, action="note", what="case"))
        for _ in range(30)
    ]
    await asyncio.sleep(0.1)
    assert handle.most == IN_FLIGHT_PER_WORKFLOW < 10
    # One more that cannot get a slot within its budget is told to come back.
    with pytest.raises(Problem) as info:
        await run_update(
            handle, "note", None, action="note", what="case", timeout=timedelta(seconds=0.2)
        )
    assert info.value.status == 429
    handle.release.set()
    assert await asyncio.gather(*sends) == [True] * 30
    assert handle.most == IN_FLIGHT_PER_WORKFLOW
