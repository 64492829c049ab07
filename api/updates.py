"""Run a Temporal update for a request: refusals as problem documents, a busy workflow waited
for, and never an answer that contradicts what the workflow recorded."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Problem
from workflows.vocabulary import INVALID

BUSY = {429: {"description": "the workflow stayed busy; retry after Retry-After"}}
UPDATE_TIMEOUT = timedelta(seconds=20)  # the request's whole budget; then 429 or 503
# Temporal admits a few in-flight updates per workflow (10 by default) and refuses more with
# RESOURCE_EXHAUSTED: a burst on one case waits, backing off with jitter so the waiting
# requests do not all come back at once.
FIRST_BACKOFF, MAX_BACKOFF = 0.05, 1.0
RETRY_AFTER = "1"  # seconds, when the budget is spent and the case is still busy
# The server also aborts admitted updates now and then (UNAVAILABLE "workflow update was
# aborted", e.g. when a burst makes it drop the workflow's cached state) and the client's own
# retries may run out: resending the same update id is safe, so it is resent, but only for
# this part of the budget, since UNAVAILABLE is also what a stopped server answers.
UNAVAILABLE_BUDGET = timedelta(seconds=8)
RETRIED = {RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE}


# Fewer than the server admits, so one API process alone never meets its limit: the rest
# wait here, in order, instead of being refused and retried.
IN_FLIGHT_PER_WORKFLOW = 8


class Busy(Exception):
    """No slot for another update on this workflow within the request's budget."""


class WorkflowGate:
    """At most `size` updates in flight per workflow from this process; the rest wait."""

    def __init__(self, size: int = IN_FLIGHT_PER_WORKFLOW) -> None:
        self.size = size
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}  # with how many use it

    @asynccontextmanager
    async def slot(self, workflow_id: str, timeout: float) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(workflow_id) or (asyncio.Semaphore(self.size), 0)
        self._slots[workflow_id] = (semaphore, users + 1)
        try:
            try:
                await asyncio.wait_for(semaphore.acquire(), max(timeout, 0))
            except TimeoutError:
                raise Busy(workflow_id) from None
            try:
                yield
            finally:
                semaphore.release()
        finally:
            semaphore, users = self._slots[workflow_id]
            if users == 1:
                del self._slots[workflow_id]
            else:
                self._slots[workflow_id] = (semaphore, users - 1)


gate = WorkflowGate()


def busy(what: str) -> Problem:
    return Problem(
        429,
        f"the {what} is busy with other requests; try again",
        headers={"Retry-After": RETRY_AFTER},
    )


def backoff(attempt: int) -> float:
    """Full jitter over an exponentially growing ceiling."""
    return random.uniform(FIRST_BACKOFF / 2, min(MAX_BACKOFF, FIRST_BACKOFF * 2**attempt))


async def run_update(
    handle: WorkflowHandle,
    update,
    arg,
    *,
    action: str,
    what: str,
    update_id: str | None = None,
    missing_ok: bool = False,
    applied: Callable[[str], Awaitable[bool]] | None = None,
    timeout: timedelta = UPDATE_TIMEOUT,
) -> bool:
    """409 when the state forbids it (or the workflow has ended), 422 for a bad argument, 429
    (Retry-After) when the workflow stayed too busy for the whole `timeout`.

    Every attempt sends the same `update_id`, so the server applies the update once however
    often it is sent; `update_id` from the caller makes a redelivered request apply once too.
    With `missing_ok` an ended workflow answers False instead of 409. `applied(update_id)` tells
    whether the update took effect when the answer does not say: the server may forget an
    update that ended its workflow (cancel, accept) before its result is read, and a refused or
    timed-out attempt may still have been recorded; a request is then answered as done.
    """
    update_id = update_id or f"{action}-{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout.total_seconds()
    try:
        async with gate.slot(getattr(handle, "id", ""), deadline - loop.time()):
            return await _send(
                handle, update, arg, update_id, what, missing_ok, applied, deadline, timeout
            )
    except Busy:
        if applied is not None and await applied(update_id):
            return True
        raise busy(what) from None


async def _send(handle, update, arg, update_id, what, missing_ok, applied, deadline, timeout):
    """Send the update until it is answered, retrying what the server may answer a busy
    workflow (see run_update)."""
    loop = asyncio.get_running_loop()
    unavailable_until = loop.time() + min(timeout, UNAVAILABLE_BUDGET).total_seconds()
    attempt = 0
    while True:
        left = timedelta(seconds=max(deadline - loop.time(), 0.1))
        try:
            await handle.execute_update(update, arg, id=update_id, rpc_timeout=left)
            return True
        except WorkflowUpdateFailedError as err:
            raise refusal(err) from err
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            if applied is not None and await applied(update_id):
                return True
            raise  # 503: the same update id (an Idempotency-Key) makes a retry safe
        except RPCError as err:
            if err.status in RETRIED:
                pause = backoff(attempt)
                attempt += 1
                until = (
                    deadline
                    if err.status == RPCStatusCode.RESOURCE_EXHAUSTED
                    else unavailable_until
                )
                if loop.time() + pause < until:
                    await asyncio.sleep(pause)
                    continue
                if applied is not None and await applied(update_id):
                    return True
                if err.status == RPCStatusCode.UNAVAILABLE:
                    raise  # 503: the engine is not answering
                raise busy(what) from err
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            if applied is not None and await applied(update_id):
                return True
            if missing_ok:
                return False
            raise Problem(409, f"the {what} is no longer running: {err.message}") from err


def refusal(err: WorkflowUpdateFailedError) -> Problem:
    """The validator's or the handler's refusal as a problem: 422 for a bad argument, else 409
    (the state forbids it, or a step of it failed for good and the case went on without it)."""
    cause = err.cause
    if isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError):
        return Problem(409, cause.cause.message)  # e.g. the ITSM is not set up
    if isinstance(cause, ApplicationError):
        return Problem(422 if cause.type == INVALID else 409, cause.message)
    return Problem(409, str(cause or err))
