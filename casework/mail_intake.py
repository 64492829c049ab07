"""`casework mail-intake`: an SMTP server (aiosmtpd) that takes inbound mail for Casework.

Each message goes through the same function as POST /inbound/email
(api.services.inbound_mail.receive), with the envelope's MAIL FROM as its return path. The
SMTP answer follows the API's: taken (opened, appended or ignored) is 250; a message too
large 552; not a message 550; a case that is busy, still opening, or a sender over the rate
limit 451, so the sending server tries again later (the same message is then taken once).
"""

import asyncio
import logging
import signal
from typing import Any

from aiosmtpd.smtp import SMTP
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.errors import Problem
from api.rate_limit import Limiter
from api.services.inbound_mail import receive
from casework import temporal
from casework.settings import Settings
from models.db import make_engine, make_session_factory

log = logging.getLogger("casework.mail_intake")


def smtp_status(problem: Problem) -> str:
    """The SMTP reply for a refusal the API would answer with `problem`."""
    detail = " ".join(problem.detail.split())[:400]
    if problem.status == 413:
        return f"552 5.3.4 {detail}"
    if problem.status in (409, 429, 503):
        return f"451 4.3.0 {detail}"
    return f"550 5.6.0 {detail}"


class IntakeHandler:
    """aiosmtpd's handler: every message at the end of DATA into `receive`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.settings = settings
        self.limiter = Limiter(settings.rate_limit_inbound_mail)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        """With CASEWORK_MAIL_ADDRESSES set, only mail for them is taken (no mail for strangers
        to bounce later); without it, every recipient (a gateway forwards only ours)."""
        if self.settings.mail_addresses and address.lower() not in self.settings.own_addresses:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        wait = self.limiter.hit(f"smtp:{peer}")
        if wait > 0:
            return f"451 4.7.1 too many messages; try again in {int(wait) + 1} s"
        raw = envelope.original_content or b""
        try:
            got = await receive(
                sessions=self.sessions,
                client=self.client,
                settings=self.settings,
                raw=raw,
                envelope_from=envelope.mail_from or "",
            )
        except Problem as problem:
            log.info("refused a message from %s: %s", envelope.mail_from, problem.detail)
            return smtp_status(problem)
        except Exception:  # the database or Temporal is away: the sender tries again later
            log.exception("could not take a message from %s", envelope.mail_from)
            return "451 4.3.0 temporary failure; try again later"
        log.info("message from %s: %s (%s)", envelope.mail_from, got.action, got.reason)
        return f"250 2.0.0 {got.action} {got.case_id or ''}".rstrip()


async def serve(settings: Settings, host: str, port: int) -> None:
    """Listen until cancelled (SIGINT/SIGTERM in `run`)."""
    engine = make_engine(settings.database_url)
    client = await temporal.connect(settings)
    handler = IntakeHandler(make_session_factory(engine), client, settings)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="casework",
            data_size_limit=settings.mail_max_bytes,
            # The raw bytes as they came: the message is parsed by inbound mail itself.
            decode_data=False,
        ),
        host=host,
        port=port,
    )
    log.info("mail intake listening on %s:%s", host, port)
    print(f"mail intake listening on {host}:{port}", flush=True)
    try:
        await asyncio.Future()  # until cancelled
    finally:
        server.close()
        await server.wait_closed()
        await engine.dispose()


def run(settings: Settings, host: str, port: int) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(serve(settings, host, port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
