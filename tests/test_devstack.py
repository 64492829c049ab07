"""Real-process tests for casework.devstack (PostgreSQL, Temporal dev server, SMTP sink) and
for the tests' own SMTP server built on that sink (tests/smtp.py)."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from casework import devstack
from tests import smtp as test_smtp

# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    handle = devstack.start_postgres(tmp_path_factory.mktemp("devstack") / "pg")
    yield handle
    handle.stop()


def test_postgres_uri_and_select(pg):
    assert pg.uri.startswith("postgresql+psycopg://")
    engine = sa.create_engine(pg.uri, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1


def test_create_database_is_fresh(pg):
    uri = devstack.create_database(pg.uri, "iso-lation")
    engine = sa.create_engine(uri, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x int)"))
    # Same name again must give an empty database, even with a connection still open.
    with engine.connect() as _held:
        uri2 = devstack.create_database(pg.uri, "iso-lation")
    assert uri2 == uri
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('t')")).scalar_one() is None


def test_postgres_stop_start_keeps_rows(pg):
    uri = devstack.create_database(pg.uri, "restart")
    engine = sa.create_engine(uri, pool_pre_ping=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE cases (id int primary key, title text)"))
            conn.execute(sa.text("INSERT INTO cases VALUES (1, 'a'), (2, 'b')"))

        pg.stop()
        assert not pg.is_running()
        with pytest.raises(sa.exc.OperationalError):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        pg.stop()  # idempotent

        pg.start()
        assert pg.is_running()
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, title FROM cases ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]
    finally:
        engine.dispose()
        pg.start()  # leave the module fixture usable even if an assertion failed


# --------------------------------------------------------------------------- Temporal


@pytest.fixture
def temporal(tmp_path):
    handle = devstack.start_temporal(
        db_file=tmp_path / "temporal.db",
        port=devstack.free_port(),
        ui_port=None,
        log_file=tmp_path / "temporal.log",
    )
    yield handle
    handle.kill()


async def test_temporal_starts_and_serves_default_namespace(temporal):
    assert temporal.address.startswith("127.0.0.1:")
    assert temporal.ui_url is None
    client = await Client.connect(temporal.address)
    assert await client.service_client.check_health()
    resp = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    assert resp.namespace_info.name == "default"


async def test_temporal_restart_keeps_workflows(temporal):
    client = await Client.connect(temporal.address)
    await client.start_workflow("NoSuchWorkflow", id="x", task_queue="q")

    await asyncio.to_thread(temporal.restart)

    client = await Client.connect(temporal.address)
    desc = await client.get_workflow_handle("x").describe()
    assert desc.workflow_type == "NoSuchWorkflow"
    assert desc.raw_description.workflow_execution_info.status == (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    )


def test_temporal_port_in_use_is_refused(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(RuntimeError, match="already in use"):
            devstack.start_temporal(
                db_file=None, port=port, ui_port=None, log_file=tmp_path / "t.log"
            )


def test_temporal_startup_failure_raises_with_log_tail(tmp_path):
    # A directory as the SQLite file makes the server exit right away.
    with pytest.raises(RuntimeError, match="(?s)log tail.*unable to open database file"):
        devstack.start_temporal(
            db_file=tmp_path,
            port=devstack.free_port(),
            ui_port=None,
            log_file=tmp_path / "t.log",
            startup_timeout=20,
        )


# --------------------------------------------------------------------------- SMTP sink


def _mail(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "support@casework.test"
    msg["To"] = "customer@example.test"
    msg["Subject"] = subject
    msg.set_content("Hello — your case is open.")
    return msg


@pytest.fixture
def sink_factory():
    sinks: list[devstack.SmtpSink] = []

    def make(start=devstack.start_smtp_sink, **kwargs) -> devstack.SmtpSink:
        sink = start(**kwargs)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.stop()


def test_smtp_sink_receives(sink_factory, tmp_path):
    sink = sink_factory(maildir=tmp_path / "mail")
    assert sink.url == f"smtp://127.0.0.1:{sink.port}"
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        smtp.send_message(_mail("Case #1"))
    [received] = sink.wait_for(1)
    assert received.mail_from == "support@casework.test"
    assert received.rcpt_tos == ["customer@example.test"]
    assert received.message["Subject"] == "Case #1"
    assert "your case is open" in received.message.get_content()
    assert (tmp_path / "mail" / "1.eml").read_bytes() == received.raw


def test_smtp_sink_wait_for_times_out(sink_factory):
    sink = sink_factory()
    with pytest.raises(TimeoutError):
        sink.wait_for(1, timeout=0.2)


def test_smtp_sink_refuse_first_then_accept(sink_factory):
    sink = sink_factory(test_smtp.start_smtp_sink, reply=test_smtp.refuse_first(1, "421 try later"))
    with pytest.raises(smtplib.SMTPResponseException) as exc_info:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.send_message(_mail("first"))
    assert exc_info.value.smtp_code == 421
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        smtp.send_message(_mail("second"))
    [received] = sink.wait_for(1)
    assert received.message["Subject"] == "second"
    assert [status for _, status in sink.refused] == ["421 try later"]


def test_smtp_sink_permanent_refusal(sink_factory):
    def no_such_user(envelope):
        if "nobody@example.test" in envelope.rcpt_tos:
            return "550 no such user"
        return None

    sink = sink_factory(test_smtp.start_smtp_sink, reply=no_such_user)
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPResponseException) as exc_info:
            smtp.sendmail("support@casework.test", ["nobody@example.test"], b"Subject: x\r\n\r\nx")
        assert exc_info.value.smtp_code == 550
        smtp.send_message(_mail("ok"))
    assert len(sink.wait_for(1)) == 1
    assert len(sink.refused) == 1


def test_the_tests_smtp_server_shows_one_mail_per_message_id(sink_factory):
    sink = sink_factory(test_smtp.start_smtp_sink)
    first, again, other = _mail("first"), _mail("again"), _mail("other")
    first["Message-ID"] = again["Message-ID"] = "<1@casework>"
    other["Message-ID"] = "<2@casework>"
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        for mail in (first, again, other):
            client.send_message(mail)
    assert len(sink.wait_for(3)) == 3
    assert [m.message["Subject"] for m in sink.delivered] == ["first", "other"]
