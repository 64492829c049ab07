"""Run an action as a Temporal update and answer its refusals as problem documents."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Problem

NOT_ALLOWED = "ActionNotAllowed"  # the ApplicationError type validators refuse with
UPDATE_TIMEOUT = timedelta(seconds=20)  # then 503: the caller retries


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
) -> bool:
    """409 when the state forbids it (or the workflow has ended), 422 for a bad argument.

    `update_id` makes a redelivered request apply once; with `missing_ok` an ended workflow
    answers False instead of 409. `applied(update_id)` tells whether the update took effect
    when the server no longer knows it: an update that ends the workflow (cancel, accept) may
    be forgotten with it before its result is read.
    """
    update_id = update_id or f"{action}-{uuid.uuid4()}"
    try:
        await handle.execute_update(update, arg, id=update_id, rpc_timeout=UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError):
            raise Problem(409, cause.cause.message) from err  # e.g. the ITSM is not set up
        if isinstance(cause, ApplicationError):
            status = 409 if cause.type == NOT_ALLOWED else 422
            raise Problem(status, cause.message) from err
        raise Problem(409, str(cause or err)) from err
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        if applied is not None and await applied(update_id):
            return True
        if missing_ok:
            return False
        raise Problem(409, f"the {what} is no longer running: {err.message}") from err
    return True
