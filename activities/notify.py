"""The send activity of cases started before the outbox relay (activities/relay.py).

Their histories schedule one `send_notification` per outbox row, so the activity stays for
as long as such a case may be running. It shares the relay's `deliver`: a row is sent once,
whichever of the two gets to it first.
"""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps
from activities.relay import Busy, deliver
from workflows.types import SendInput, SendResult

ACCEPTED = "smtp-accepted"


class NotificationActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="send_notification")
    async def send_notification(self, arg: SendInput) -> SendResult:
        """Send one row; a retry after the commit finds it sent and sends nothing.

        When the server accepted the mail but the commit failed (the database went away),
        the acceptance is kept in the activity's heartbeat details, which Temporal hands to
        the retry: it only marks the row.
        """
        running = activity.in_activity()  # False when a test calls this directly
        accepted = running and ACCEPTED in (activity.info().heartbeat_details or ())

        def remember() -> None:
            if running:
                activity.heartbeat(ACCEPTED)

        try:
            status = await deliver(
                self.deps, arg.notification_id, accepted=accepted, on_accepted=remember
            )
        except Busy:
            raise ApplicationError("another attempt is sending this notification") from None
        return SendResult(status)
