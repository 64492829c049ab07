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
from workflows.types import SendInput, SendManyInput, SendManyResult, SendResult

ACCEPTED = "smtp-accepted"
PAUSE_AFTER_SEND = float(os.environ.get("CASEWORK_FAULT_PAUSE_AFTER_SEND", "0") or 0)


class NotificationActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="send_notification")
    async def send_notification(self, arg: SendInput) -> SendResult:
        """One outbox row (cases started before batched sends still schedule this)."""
        running = activity.in_activity()  # False when a test calls this directly
        accepted = running and ACCEPTED in (activity.info().heartbeat_details or ())
        status = await self._deliver(
            arg.notification_id, accepted, lambda: activity.heartbeat(ACCEPTED) if running else None
        )
        await _fault_pause()
        return SendResult(status)

    @activity.defn(name="send_notifications")
    async def send_notifications(self, arg: SendManyInput) -> SendManyResult:
        """Several outbox rows in order, over one SMTP connection; each row exactly once.

        Each row is sent and marked in its own transaction, so a retry after a failure part
        way through skips the rows already sent. The ids the server accepted are kept in the
        heartbeat details as they go, for a retry after a commit that failed.
        """
        running = activity.in_activity()
        details = activity.info().heartbeat_details if running else ()
        accepted: set[str] = set(details[0]) if details else set()

        def remember(nid: str):
            def accepted_now() -> None:
                accepted.add(nid)
                if running:
                    activity.heartbeat(sorted(accepted))

            return accepted_now

        statuses = [
            await self._deliver(nid, nid in accepted, remember(nid)) for nid in arg.notification_ids
        ]
        await _fault_pause()
        return SendManyResult(statuses)

    async def _deliver(self, notification_id: str, accepted: bool, on_accepted) -> str:
        """Send one row under a row lock, marking it sent in the same transaction.

        The lock keeps two attempts (a retry racing a slow first try) from both sending; a
        retry after the commit finds the row sent and sends nothing. When the server accepted
        the mail but the commit failed (the database went away), `on_accepted` has put the
        acceptance in the activity's heartbeat details, which Temporal hands to the retry:
        it comes back as `accepted` and the row is only marked.
        """
        async with self.deps.sessions() as db, db.begin():
            row = (
                await db.execute(
                    select(Notification)
                    .where(Notification.id == uuid.UUID(notification_id))
                    .with_for_update(skip_locked=True)
                )
            ).scalar()
            if row is None:
                exists = await db.get(Notification, uuid.UUID(notification_id))
                if exists is not None and exists.status == "pending":
                    raise ApplicationError("another attempt is sending this notification")
                return "skipped"
            if row.status in ("sent", "failed"):
                return "skipped"
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
                return "sent"
            row.attempts += 1
            try:
                await asyncio.to_thread(self.deps.mailer.send, message)
            except PermanentMailError as err:
                await self._failed(db, row, err)
                return "failed"
            except TransientMailError as err:
                row.last_error = str(err)[:2000]
                await db.commit()
                raise
            on_accepted()
            row.status, row.sent_at = "sent", datetime.now(UTC)
        return "sent"

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


async def _fault_pause() -> None:
    if PAUSE_AFTER_SEND:  # fault-injection seam for the crash tests (never set in production)
        await asyncio.sleep(PAUSE_AFTER_SEND)
