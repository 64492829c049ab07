"""The outbox relay: sends every pending notification row, once, soon after its commit.

A case step writes its outbox rows in the same transaction as its event (activities/record.py,
intake, routing). A trigger on `notifications` (migration 0005) calls
`pg_notify('casework_outbox')` when rows are inserted; the relay LISTENs for that, and
also looks every `poll_seconds` in case a notification was missed (a dropped listener
connection, a retry that has come due).

Each row is sent under its row lock and marked in the same transaction (`deliver`), so two
relays (several worker processes) never send the same row, and a relay restarted after a
crash finds the rows it had sent marked. A mail the server accepted while the commit failed
(the database went away) is remembered in memory and only marked on the next try. A
transient refusal (4xx, a dropped connection) is tried again with exponential backoff
(`next_attempt_at`), a permanent one (5xx, or `MAX_ATTEMPTS` transient ones) marks the row
failed and says so on the case's timeline.

No workflow task and no activity per mail: the case workflows do not wait for mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import psycopg
from sqlalchemy import Row, Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.db import event_once
from activities.deps import Deps
from activities.mailer import PermanentMailError, TransientMailError, build_message
from models.cases import Notification
from models.participants import bouncing

log = logging.getLogger("casework.relay")

CHANNEL = "casework_outbox"
MAX_ATTEMPTS = 50
FIRST_RETRY_SECONDS = 1.0
LAST_RETRY_SECONDS = 300.0


class Busy(Exception):
    """Another sender holds the row's lock right now."""


def retry_delay(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... up to 5 minutes between tries."""
    return timedelta(seconds=min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempts - 1)))


_ROWS = cast(Table, Notification.__table__)
# Constant statements: compiled once, each call only binds its values (SET columns of
# _MARK come from the keys of the values passed).
_LOCK = select(_ROWS).where(_ROWS.c.id == bindparam("nid")).with_for_update(skip_locked=True)
_STATUS = select(_ROWS.c.status).where(_ROWS.c.id == bindparam("nid"))
_MARK = update(_ROWS).where(_ROWS.c.id == bindparam("nid"))
_DUE = (
    select(_ROWS.c.id)
    .where(
        _ROWS.c.status == "pending",
        or_(_ROWS.c.next_attempt_at.is_(None), _ROWS.c.next_attempt_at <= bindparam("now")),
    )
    .order_by(_ROWS.c.created_at)
    .limit(bindparam("batch"))
)


async def deliver(
    deps: Deps,
    notification_id: str,
    *,
    accepted: bool,
    on_accepted: Callable[[], None],
    before_mark: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """Send one row under its row lock and mark it in the same transaction.

    Returns sent | failed | skipped (already sent or failed). `accepted` says the server
    took this mail on an earlier try whose commit failed: the row is only marked.
    `on_accepted` is called the moment the server has the mail, before the commit;
    `before_mark` (tests only) is awaited right after it.
    Raises Busy when another sender holds the row, TransientMailError after recording a
    transient refusal (the row is tried again at its `next_attempt_at`).
    """
    nid = uuid.UUID(notification_id)
    async with deps.sessions() as db, db.begin():
        conn = await db.connection()
        row = (await conn.execute(_LOCK, {"nid": nid})).first()
        if row is None:
            if (await conn.execute(_STATUS, {"nid": nid})).scalar() == "pending":
                raise Busy(notification_id)
            return "skipped"
        if row.status in ("sent", "failed"):
            return "skipped"
        rendered = deps.renderer.render(row.template, row.context)
        message = build_message(
            rendered=rendered,
            sender=deps.mailer.sender,
            recipient=row.recipient,
            message_id=row.message_id,
            headers=case_header(row.context) | thread_headers(row.context.get("thread")),
        )
        # The try that the server accepted counts, though its own commit was lost.
        attempts = row.attempts + 1
        if accepted:
            await conn.execute(_MARK, _sent(nid, rendered.subject, attempts))
            return "sent"
        # An address a bounce marked gets no more mail (until the contact's address changes).
        if why := (await bouncing(db, [row.recipient])).get(row.recipient.lower()):
            await _failed(conn, row, attempts, f"not sent: {row.recipient} bounces ({why})")
            return "failed"
        try:
            await asyncio.to_thread(deps.mailer.send, message)
        except PermanentMailError as err:
            await _failed(conn, row, attempts, f"{err.code} {err.detail}")
            return "failed"
        except TransientMailError as err:
            if attempts >= MAX_ATTEMPTS:
                await _failed(conn, row, attempts, f"gave up after {attempts} tries: {err}")
                return "failed"
            later = datetime.now(UTC) + retry_delay(attempts)
            await conn.execute(
                _MARK,
                {
                    "nid": nid,
                    "attempts": attempts,
                    "last_error": str(err)[:2000],
                    "next_attempt_at": later,
                    "subject": rendered.subject,
                },
            )
            await db.commit()
            raise
        on_accepted()
        if before_mark is not None:
            await before_mark()
        await conn.execute(_MARK, _sent(nid, rendered.subject, attempts))
    return "sent"


def case_header(context: dict[str, Any]) -> dict[str, str]:
    """The case a mail is about, for mail filters; none for a mail about no case (sign-in)."""
    number = (context.get("case") or {}).get("number")
    return {"X-Casework-Case": str(number)} if number else {}


def thread_headers(thread: dict[str, Any] | None) -> dict[str, str]:
    """In-Reply-To and References that keep a reply in the customer's thread (set when the
    row was written: the customer's last message then)."""
    if not thread:
        return {}
    return {"In-Reply-To": thread["in_reply_to"], "References": " ".join(thread["references"])}


def _sent(nid: uuid.UUID, subject: str, attempts: int) -> dict[str, Any]:
    return {
        "nid": nid,
        "status": "sent",
        "sent_at": datetime.now(UTC),
        "subject": subject,
        "attempts": attempts,
    }


async def _failed(conn: AsyncConnection, row: Row[Any], attempts: int, why: str) -> None:
    """Refused for good: mark the row failed and say so on the case's timeline."""
    why = why[:2000]
    await conn.execute(
        _MARK, {"nid": row.id, "status": "failed", "last_error": why, "attempts": attempts}
    )
    if row.case_id:
        await event_once(
            conn,
            case_id=row.case_id,
            key=f"notification_failed:{row.id}",
            kind="notification_failed",
            public=False,
            body=f"{row.template} to {row.recipient} was refused: {why}",
            data={"template": row.template, "recipient": row.recipient},
            at=datetime.now(UTC),
        )


class OutboxRelay:
    """Sends pending outbox rows with `senders` mails in flight; runs until cancelled."""

    def __init__(
        self,
        deps: Deps,
        *,
        listen_conninfo: str | None = None,
        senders: int = 4,
        poll_seconds: float = 1.0,
        batch: int = 200,
        before_mark: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.deps = deps
        self.listen_conninfo = listen_conninfo
        self.senders = senders
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.accepted: set[str] = set()  # sent, but the commit that marks them failed
        # A seam for the fault tests, None in production: awaited with a row's id between
        # the server's 250 and the commit that marks the row, where a test breaks that commit.
        self.before_mark = before_mark
        self.wake = asyncio.Event()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen()) if self.listen_conninfo else None
        try:
            while True:
                self.wake.clear()
                try:
                    progressed = await self.drain()
                except Exception as err:  # the database is away: try again shortly
                    log.warning("outbox relay: %s", err)
                    progressed = 0
                if not progressed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def drain(self) -> int:
        """Try every row now due; how many were settled (sent, failed or retried later)."""
        now = datetime.now(UTC)
        async with self.deps.sessions() as db:
            due = (await db.execute(_DUE, {"now": now, "batch": self.batch})).scalars()
            todo = [str(i) for i in due]
        settled = 0

        async def sender() -> None:
            nonlocal settled
            while todo:
                if await self.send_one(todo.pop(0)):
                    settled += 1

        await asyncio.gather(*(sender() for _ in range(min(self.senders, len(todo)))))
        return settled

    async def send_one(self, notification_id: str) -> bool:
        hook = self.before_mark
        try:
            await deliver(
                self.deps,
                notification_id,
                accepted=notification_id in self.accepted,
                on_accepted=lambda: self.accepted.add(notification_id),
                before_mark=partial(hook, notification_id) if hook else None,
            )
        except Busy:
            return False
        except TransientMailError as err:
            log.info("notification %s: %s; will try again", notification_id, err)
            return True
        except Exception as err:  # the database went away mid-row: the next drain retries
            log.warning("notification %s: %s", notification_id, err)
            return False
        self.accepted.discard(notification_id)
        return True

    async def _listen(self) -> None:
        """Wake the relay on every commit that added outbox rows; reconnect when dropped."""
        while True:
            try:
                conninfo = cast(str, self.listen_conninfo)  # set: else no listener runs
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.wake.set()  # rows may have come while we were not listening
                    async for _ in conn.notifies():
                        self.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("outbox relay listener: %s; reconnecting", err)
                await asyncio.sleep(self.poll_seconds)
