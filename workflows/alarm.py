"""A case's next deadline as one durable timer, kept while the deadline stays where it is.

Waiting with `wait_condition(..., timeout=...)` starts a fresh timer each time the case
changes: every note or reply cancelled the timer and started another, two history events
and two timer tasks on the server per action. An `Alarm` is re-armed only when the
deadline itself moves (a reply stops the response clock, a pause, a resolve); when it
rings, the case's loop fires whatever is due then.
"""

import asyncio
from datetime import datetime

# Patch: the quiet timer above (see tests/replay/README.md).
QUIET_TIMER = "quiet-deadline-timer"


class Alarm:
    def __init__(self) -> None:
        self.at: datetime | None = None
        self.task: asyncio.Task[None] | None = None

    def arm(self, at: datetime | None, now: datetime) -> None:
        """Ring at `at` (None: no deadline); a running timer for the same instant is kept."""
        if self.task is not None and not self.task.done() and at == self.at:
            return
        self.disarm()
        if at is not None:
            self.at = at
            self.task = asyncio.create_task(asyncio.sleep((at - now).total_seconds()))

    @property
    def rang(self) -> bool:
        return self.task is not None and self.task.done()  # disarm drops a cancelled one

    def disarm(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task, self.at = None, None
