"""The outbox relay: every pending row sent once, however many relays run, woken by commits."""

import asyncio
import uuid

from activities import outbox
from activities.relay import OutboxRelay, retry_delay
from casework.worker import relaying
from models.cases import Case, Notification
from models.db import libpq_url
from tests import factories as f
from tests.conftest import make_deps
from tests.smtp import refuse_first, start_smtp_sink


async def pending_rows(sessions, n: int) -> list[str]:
    """n acknowledgement rows of n cases, as intake writes them."""
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id, email="ada@acme.example")
    ids = []
    async with sessions() as db, db.begin():
        for i in range(n):
            case = Case(
                id=uuid.uuid4(),
                number=f"CS{i:07d}",
                workflow_id=f"case-relay-{i}-{uuid.uuid4().hex[:6]}",
                channel="email",
                subject=f"Case {i}",
                contact_id=ada.id,
                account_id=acct.id,
            )
            db.add(case)
            await db.flush()
            nid = await outbox.enqueue(
                db,
                case=case,
                key=f"{case.id}:ack",
                template="acknowledgement",
                to="customer",
                portal_url="http://casework.test/portal",
            )
            ids.append(str(nid))
    return ids


async def statuses(sessions) -> list[str]:
    from sqlalchemy import select

    async with sessions() as db:
        return list((await db.execute(select(Notification.status))).scalars())


async def test_two_relays_send_each_row_once(sessions):
    sink = start_smtp_sink()
    try:
        ids = await pending_rows(sessions, 30)
        a = OutboxRelay(make_deps(sessions, sink.url), senders=4)
        b = OutboxRelay(make_deps(sessions, sink.url), senders=4)
        await asyncio.gather(a.drain(), b.drain(), a.drain(), b.drain())
        sink.wait_for(30)
        await asyncio.sleep(0.5)
        got = sorted(m.message["Message-ID"] for m in sink.messages)
        assert len(got) == 30 and len(set(got)) == 30
        assert await statuses(sessions) == ["sent"] * 30
        assert len(ids) == 30
        assert await a.drain() == 0 and await b.drain() == 0
    finally:
        sink.stop()


async def test_a_commit_wakes_the_relay_at_once(sessions, database_url):
    """LISTEN/NOTIFY (the trigger from migration 0005): no waiting for the next poll."""
    sink = start_smtp_sink()
    deps = make_deps(sessions, sink.url)
    relay = OutboxRelay(deps, listen_conninfo=libpq_url(database_url), poll_seconds=60)
    try:
        async with relaying(relay):
            await asyncio.sleep(0.5)  # listening, idle until the next poll in a minute
            await pending_rows(sessions, 1)
            (mail,) = await asyncio.to_thread(sink.wait_for, 1, 10)
            for _ in range(50):  # the row is marked in the commit after the server's 250
                if await statuses(sessions) == ["sent"]:
                    break
                await asyncio.sleep(0.1)
        assert mail.rcpt_tos == ["ada@acme.example"]
        assert await statuses(sessions) == ["sent"]
    finally:
        sink.stop()


async def test_a_refused_row_waits_its_turn_then_is_sent(sessions):

    sink = start_smtp_sink(reply=refuse_first(1, "451 4.3.0 try later"))
    try:
        await pending_rows(sessions, 1)
        relay = OutboxRelay(make_deps(sessions, sink.url))
        assert await relay.drain() == 1  # refused: tried again after its backoff
        assert await statuses(sessions) == ["pending"]
        assert await relay.drain() == 0  # not due yet
        await asyncio.sleep(retry_delay(1).total_seconds() + 0.2)
        assert await relay.drain() == 1
        assert await statuses(sessions) == ["sent"]
        assert len(sink.messages) == 1 and len(sink.refused) == 1
    finally:
        sink.stop()
