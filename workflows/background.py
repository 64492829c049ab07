"""Steps a workflow starts without waiting for them, and counts until they are done.

A workflow must let them finish before it ends or continues as new (`InFlight.idle`). They
are: the per-mail send activity of histories from before the outbox relay, and a case's
webhook delivery of an ITSM incident.
"""

import asyncio
from collections.abc import Awaitable

from temporalio import workflow

from workflows import calls
from workflows.types import SendInput

# Patch: notifications are sent by the outbox relay (activities/relay.py) as soon as the step
# that wrote them commits, with no activity and no workflow task per mail. Used by
# CaseWorkflow and WorkOrderWorkflow alike (see tests/replay/README.md).
OUTBOX_RELAY = "outbox-relay"


class InFlight:
    def __init__(self) -> None:
        self.count = 0

    @property
    def idle(self) -> bool:
        return self.count == 0

    def start(self, step: Awaitable) -> None:
        self.count += 1
        asyncio.create_task(self._run(step))

    async def _run(self, step: Awaitable) -> None:
        try:
            await step
        finally:
            self.count -= 1

    def send(self, notification_ids: list[str]) -> None:
        """Histories from before the outbox relay send each outbox row with an activity."""
        if not notification_ids or workflow.patched(OUTBOX_RELAY):
            return
        for nid in notification_ids:
            self.start(_send_one(nid))


async def _send_one(notification_id: str) -> None:
    try:
        await calls.send_notification(SendInput(notification_id))
    except Exception as err:  # retries exhausted: the outbox row keeps the error
        workflow.logger.warning("notification %s not sent: %s", notification_id, err)
