"""Real-process tests for casework.devstack (PostgreSQL, Temporal dev server, SMTP sink) and
for the tests' own SMTP server built on that sink (tests/smtp.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
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


# --------------------------------------------------------------------------- casework dev

WEDGE = """
CREATE FUNCTION wedge() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'wedged by the test'; END $$;
CREATE TRIGGER wedge BEFORE INSERT ON case_events
  FOR EACH ROW WHEN (NEW.body = 'wedge') EXECUTE FUNCTION wedge();
"""


class CaseworkDev:
    """`casework dev` on free ports, in a process group of its own as a terminal runs it."""

    def __init__(self, home: Path) -> None:
        self.home, self.proc = home, None
        self.temporal_port, self.api_port = devstack.free_port(), devstack.free_port()
        self.command = [
            str(Path(sys.prefix) / "bin" / "casework"),
            "dev",
            "--no-demo",
            f"--temporal-port={self.temporal_port}",
            f"--temporal-ui-port={devstack.free_port()}",
            f"--smtp-port={devstack.free_port()}",
        ]
        self.env = {
            **os.environ,
            "CASEWORK_HOME": str(home),
            "CASEWORK_API_PORT": str(self.api_port),
            "CASEWORK_ADMIN_TOKEN": "dev-test-admin",
        }
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}",
            headers={"Authorization": "Bearer dev-test-admin"},
            timeout=10,
        )

    def start(self) -> None:
        with open(self.home / "dev.log", "ab") as log:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_tail()
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"casework dev did not come up:\n{self.log_tail()}")

    def processes(self) -> dict[int, str]:
        """Every live process of this stack, pid to command line: the launcher's group, and
        whatever names its home (PostgreSQL, and the Temporal dev server in its own session)."""
        found = {}
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue  # gone meanwhile
            state, pgid = stat[0], int(stat[2])
            if state != "Z" and (pgid == self.proc.pid or str(self.home) in cmdline):
                found[int(proc.name)] = cmdline[:120]
        return found

    def interrupt(self, within: float, times: int = 1) -> float:
        """Ctrl-C in its terminal (`times` over); how long until every process is gone (at
        most `within`)."""
        started = time.monotonic()
        for _ in range(times):
            os.killpg(self.proc.pid, signal.SIGINT)
            time.sleep(0.2)
        while time.monotonic() - started < within:
            self.proc.poll()
            if not self.processes():
                return time.monotonic() - started
            time.sleep(0.1)
        left = self.processes()
        self.kill()
        raise AssertionError(f"still running after {within}s: {left}\n{self.log_tail()}")

    def kill(self) -> None:
        if self.proc is None:
            return
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)

    def log_tail(self) -> str:
        return devstack._tail(self.home / "dev.log", 30)


@pytest.fixture
def casework_dev():
    # Not under pytest's 0700 tmp dirs: initdb runs as the unprivileged `pgserver` user.
    home = Path(tempfile.mkdtemp(prefix="casework-dev-"))
    home.chmod(0o755)
    dev = CaseworkDev(home)
    yield dev
    dev.kill()
    dev.http.close()
    shutil.rmtree(home, ignore_errors=True)


def wedge_a_case(dev: CaseworkDev) -> str:
    """A case whose next step fails on every try: a note that the database refuses."""
    r = dev.http.post(
        "/api/v1/cases", json={"subject": "Stuck", "channel": "email", "email": "ada@acme.example"}
    )
    assert r.status_code == 201, r.text
    case = r.json()
    pg = devstack.start_postgres(dev.home / "pg")  # the running server: only its address
    engine = sa.create_engine(sa.make_url(pg.uri).set(database="casework"), poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(WEDGE))
    engine.dispose()
    with contextlib.suppress(httpx.TimeoutException):
        r = dev.http.post(
            f"/api/v1/cases/{case['id']}/actions/note", json={"body": "wedge"}, timeout=3
        )
        assert r.status_code != 200, r.text
    return case["id"]


@pytest.mark.slow
def test_ctrl_c_stops_casework_dev_within_seconds_with_a_step_retrying(casework_dev):
    dev = casework_dev
    dev.start()
    case_id = wedge_a_case(dev)
    time.sleep(2)  # the note's step is failing and being retried now
    took = dev.interrupt(within=12)
    print(f"stopped in {took:.1f}s")
    # Cleanly: the worker let go of the stuck step; the watchdog had nothing to kill.
    log = (dev.home / "dev.log").read_text()
    assert "Casework stopped" in log and "killing" not in log, dev.log_tail()
    with socket.socket() as probe:  # the Temporal port is free for the next start
        # As the dev server binds: its old connections may linger in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", dev.temporal_port))
    dev.start()
    assert dev.http.get(f"/api/v1/cases/{case_id}").status_code == 200
    time.sleep(2)  # the step is being retried again, after the restart
    assert dev.interrupt(within=3, times=2) < 3  # a second Ctrl-C does not wait at all
    assert "Casework stopped at once" in (dev.home / "dev.log").read_text()


@pytest.mark.slow
def test_a_killed_casework_dev_takes_its_temporal_server_with_it(casework_dev):
    dev = casework_dev
    dev.start()
    os.kill(dev.proc.pid, signal.SIGKILL)  # no handler runs: only the kernel can clean up
    dev.proc.wait(10)
    deadline = time.monotonic() + 10
    while any("temporal" in cmd for cmd in dev.processes().values()):
        assert time.monotonic() < deadline, dev.processes()
        time.sleep(0.1)
    dev.start()  # the port is free again, and PostgreSQL, left running, is found
    assert dev.http.get("/healthz").status_code == 200
