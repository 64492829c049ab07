"""`casework mail-intake` as an operator runs it: a real SMTP server in its own process,
fed by smtplib, taking mail through the same path as POST /inbound/email."""

import asyncio
import os
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.devstack import free_port
from models.cases import Case
from models.mail import BouncingAddress, InboundMessage
from tests.api.test_cases import settle
from tests.conftest import make_deps, running_worker
from tests.mail_fixtures import eml

SUPPORT = "support@casework.test"


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        assert proc.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"mail-intake never listened: {log.read_text()}")


def send(port: int, raw: bytes, mail_from: str = "ada@acme.example", to: str = SUPPORT) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        return smtp.sendmail(mail_from, [to], raw)


@pytest.fixture
def intake_process(api, ts_env, database_url, tmp_path):
    port, log = free_port(), tmp_path / "mail-intake.log"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": ts_env.client.namespace,
        "CASEWORK_TASK_QUEUE": api.task_queue,
        "CASEWORK_MAIL_FROM": SUPPORT,
        "CASEWORK_MAIL_ADDRESSES": "help@casework.test",
        "CASEWORK_MAIL_MAX_BYTES": "50000",
        "CASEWORK_LOG_FORMAT": "text",
    }
    cmd = [str(Path(sys.prefix) / "bin" / "casework"), "mail-intake", "--port", str(port)]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0, log.read_text()  # SIGTERM stops it cleanly


async def test_mail_intake_takes_mail_over_smtp(api, sessions, ts_env, intake_process):
    port = intake_process
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        assert await asyncio.to_thread(send, port, eml("gmail_new")) == {}
        async with sessions() as db:
            kept = (await db.execute(select(InboundMessage))).scalar_one()
        assert (kept.action, kept.sender) == ("opened", "ada@acme.example")
        case = await settle(api, str(kept.case_id))
        assert case["channel"] == "email" and case["subject"] == "The router keeps rebooting"

        # A bounce comes with an empty envelope sender: taken (250), ignored, address marked.
        bounce = eml("dsn_bounce", in_reply_to="<x@casework>", case_number=case["number"])
        await asyncio.to_thread(send, port, bounce, "")
        # A vacation reply: ignored too; and so is any mail with MAIL FROM:<> (the envelope is
        # the return path here, whatever Return-Path header the message carries).
        await asyncio.to_thread(send, port, eml("apple_vacation"))
        plain = eml("gmail_new").replace(b"<CAH8Yd0q+Zx1mW9LkQ3vNp7@", b"<null-sender@")
        await asyncio.to_thread(send, port, plain, "")

        # Mail for a mailbox that is not ours is refused at RCPT.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await asyncio.to_thread(send, port, eml("gmail_new"), "ada@acme.example", "x@y.test")

        # Not a message: 550; too large: 552 (the server's own size limit).
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(send, port, b"no headers, only words\r\n")
        assert refused.value.smtp_code == 550
        with pytest.raises(smtplib.SMTPException) as refused:
            await asyncio.to_thread(send, port, eml("gmail_new") + b"x" * 60_000)
        assert getattr(refused.value, "smtp_code", None) == 552

        async with sessions() as db:
            actions = (await db.execute(select(InboundMessage.action))).scalars().all()
            cases = (await db.execute(select(Case.id))).scalars().all()
            bouncing = (await db.execute(select(BouncingAddress.email))).scalars().all()
        assert sorted(actions) == ["ignored", "ignored", "ignored", "opened"]
        assert len(cases) == 1 and bouncing == ["bob@acme.example"]
