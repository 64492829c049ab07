"""Deliver one outbox row over SMTP, exactly once per row (its Message-ID never changes)."""

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from temporalio import activity

from activities.deps import Deps
from activities.mailer import PermanentMailError, TransientMailError, build_message
from models.cases import CaseEvent, Notification
from workflows.types import SendInput, SendResult


class NotificationActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="send_notification")
    async def send_notification(self, arg: SendInput) -> SendResult:
        sessions = self.deps.sessions
        async with sessions() as db:
            row = await db.get(Notification, uuid.UUID(arg.notification_id))
        if row is None or row.status in ("sent", "failed"):
            return SendResult("skipped")
        rendered = self.deps.renderer.render(row.template, row.context)
        message = build_message(
            rendered=rendered,
            sender=self.deps.mailer.sender,
            recipient=row.recipient,
            message_id=row.message_id,
            headers={"X-Casework-Case": row.context["case"]["number"]},
        )
        try:
            await asyncio.to_thread(self.deps.mailer.send, message)
        except PermanentMailError as err:
            await self._failed(row, err)
            return SendResult("failed")
        except TransientMailError as err:
            async with sessions() as db, db.begin():
                live = await db.get(Notification, row.id, with_for_update=True)
                live.attempts += 1
                live.last_error = str(err)[:2000]
            raise
        async with sessions() as db, db.begin():
            live = await db.get(Notification, row.id, with_for_update=True)
            live.status, live.sent_at = "sent", datetime.now(UTC)
            live.subject = rendered.subject
            live.attempts += 1
        return SendResult("sent")

    async def _failed(self, row: Notification, err: PermanentMailError) -> None:
        now = datetime.now(UTC)
        async with self.deps.sessions() as db, db.begin():
            live = await db.get(Notification, row.id, with_for_update=True)
            live.status, live.last_error = "failed", f"{err.code} {err.detail}"[:2000]
            live.attempts += 1
            if row.case_id:
                await db.execute(
                    insert(CaseEvent)
                    .values(
                        case_id=row.case_id,
                        key=f"notification_failed:{row.id}",
                        kind="notification_failed",
                        public=False,
                        data={
                            "template": row.template,
                            "recipient": row.recipient,
                            "error": live.last_error,
                        },
                        at=now,
                    )
                    .on_conflict_do_nothing()
                )
