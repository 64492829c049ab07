"""Deliver one outbox row over SMTP, exactly once per row (its Message-ID never changes)."""

import asyncio
import os
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps
from activities.mailer import PermanentMailError, TransientMailError, build_message
from models.cases import CaseEvent, Notification
from workflows.types import SendInput, SendResult

ACCEPTED = "smtp-accepted"
PAUSE_AFTER_SEND = float(os.environ.get("CASEWORK_FAULT_PAUSE_AFTER_SEND", "0") or 0)


class NotificationActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="send_notification")
    async def send_notification(self, arg: SendInput) -> SendResult:
        """Send under a row lock, marking the row sent in the same transaction.

        The lock keeps two attempts (a retry racing a slow first try) from both sending; a
        retry after the commit finds the row sent and sends nothing. When the server accepted
        the mail but the commit failed (the database went away), the acceptance is kept in the
        activity's heartbeat details, which Temporal hands to the retry: it only marks the row.
        """
        running = activity.in_activity()  # False when a test calls this directly
        accepted = running and ACCEPTED in (activity.info().heartbeat_details or ())
        async with self.deps.sessions() as db, db.begin():
            row = (
                await db.execute(
                    select(Notification)
                    .where(Notification.id == uuid.UUID(arg.notification_id))
                    .with_for_update(skip_locked=True)
                )
            ).scalar()
            if row is None:
                exists = await db.get(Notification, uuid.UUID(arg.notification_id))
                if exists is not None and exists.status == "pending":
                    raise ApplicationError("another attempt is sending this notification")
                return SendResult("skipped")
            if row.status in ("sent", "failed"):
                return SendResult("skipped")
            rendered = self.deps.renderer.render(row.template, row.context)
            message = build_message(
                rendered=rendered,
                sender=self.deps.mailer.sender,
                recipient=row.recipient,
                message_id=row.message_id,
                headers={"X-Casework-Case": row.context["case"]["number"]},
            )
            row.subject = rendered.subject
            if accepted:
                row.status, row.sent_at = "sent", datetime.now(UTC)
                return SendResult("sent")
            row.attempts += 1
            try:
                await asyncio.to_thread(self.deps.mailer.send, message)
            except PermanentMailError as err:
                await self._failed(db, row, err)
                return SendResult("failed")
            except TransientMailError as err:
                row.last_error = str(err)[:2000]
                await db.commit()
                raise
            if running:
                activity.heartbeat(ACCEPTED)
            row.status, row.sent_at = "sent", datetime.now(UTC)
        if PAUSE_AFTER_SEND:  # fault-injection seam for the crash tests (never set in production)
            await asyncio.sleep(PAUSE_AFTER_SEND)
        return SendResult("sent")

    async def _failed(self, db, row: Notification, err: PermanentMailError) -> None:
        """A refusal for good (5xx): mark it failed and say so on the case's timeline."""
        row.status, row.last_error = "failed", f"{err.code} {err.detail}"[:2000]
        if row.case_id:
            await db.execute(
                insert(CaseEvent)
                .values(
                    case_id=row.case_id,
                    key=f"notification_failed:{row.id}",
                    kind="notification_failed",
                    public=False,
                    body=f"{row.template} to {row.recipient} was refused: {row.last_error}",
                    data={"template": row.template, "recipient": row.recipient},
                    at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
            )
