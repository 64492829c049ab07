"""run_update when the server has forgotten an update whose workflow it ended."""

import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Problem
from api.updates import run_update


class ForgetfulHandle:
    """What the Temporal client does when an update ended its workflow in the same task and
    the server dropped the update with the workflow before the result was read."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def execute_update(self, update, arg, *, id, rpc_timeout):
        self.ids.append(id)
        raise RPCError(f"update {id} not found", RPCStatusCode.NOT_FOUND, b"")


async def test_an_update_that_applied_is_a_success():
    handle, asked = ForgetfulHandle(), []

    async def applied(update_id: str) -> bool:
        asked.append(update_id)
        return True

    assert await run_update(handle, "act", None, action="cancel", what="case", applied=applied)
    assert asked == handle.ids  # asked about this very update


async def test_an_update_that_did_not_apply_is_a_409():
    async def applied(update_id: str) -> bool:
        return False

    with pytest.raises(Problem) as info:
        await run_update(
            ForgetfulHandle(), "act", None, action="cancel", what="case", applied=applied
        )
    assert info.value.status == 409
