"""Steps a workflow starts without waiting for them, and counts until they are done.

A workflow must let them finish before it ends or continues as new (`InFlight.idle`): a
case's webhook delivery of an ITSM incident is one.
"""

import asyncio
from collections.abc import Awaitable


class InFlight:
    def __init__(self) -> None:
        self.count = 0

    @property
    def idle(self) -> bool:
        return self.count == 0

    def start(self, step: Awaitable[object]) -> None:
        self.count += 1
        asyncio.create_task(self._run(step))

    async def _run(self, step: Awaitable[object]) -> None:
        try:
            await step
        finally:
            self.count -= 1
