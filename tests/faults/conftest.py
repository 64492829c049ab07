"""A stack made of real processes that the fault tests stop, kill and restart: its own
PostgreSQL, a Temporal dev server with a db file, an SMTP server, and `casework worker`
as a child process. The API runs in-process over real HTTP."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.client import Client

from api.app import create_app
from casework.devstack import create_database, free_port, start_postgres, start_temporal
from casework.settings import Settings
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.smtp import start_smtp_sink

ADMIN = "faults-admin-token"


class WorkerProcess:
    """`casework worker` in a child process, so a test can SIGKILL it for real."""

    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log, self.proc = env, log, None

    def start(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [str(Path(sys.prefix) / "bin" / "casework"), "worker"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Stack:
    def __init__(self, home: Path) -> None:
        self.home = home

    async def wait(self, check, timeout: float = 60, every: float = 0.2):
        """Poll `check` (an async callable) until it returns something truthy."""
        for _ in range(int(timeout / every)):
            try:
                got = await check()
            except Exception:
                got = None
            if got:
                return got
            await asyncio.sleep(every)
        raise AssertionError(f"not reached in {timeout}s: {check}")


@pytest.fixture
async def stack(request):
    """One fresh stack per test: faults must not leak from one test into the next."""
    extra_env = getattr(request, "param", {}) or {}
    home = Path(tempfile.mkdtemp(prefix="casework-faults-"))
    home.chmod(0o755)
    pg = start_postgres(home / "pg")
    database_url = create_database(pg.uri, "casework")
    upgrade(database_url)
    temporal = start_temporal(
        db_file=home / "temporal.db", port=free_port(), ui_port=None, log_file=home / "t.log"
    )
    sink = start_smtp_sink(reply=extra_env.pop("reply", None))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal.address,
        "SMTP_URL": sink.url,
        "CASEWORK_ADMIN_TOKEN": ADMIN,
        "CASEWORK_API_PORT": str(port),
        "CASEWORK_TASK_QUEUE": f"faults-{uuid.uuid4().hex[:6]}",
        **extra_env,
    }
    settings = Settings(**{k: v for k, v in env.items() if k.isupper()})
    worker = WorkerProcess(env, home / "worker.log")
    worker.start()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    engine = make_engine(database_url, pool_size=2)
    s = Stack(home)
    s.pg, s.temporal, s.sink, s.worker, s.settings = pg, temporal, sink, worker, settings
    s.sessions = make_session_factory(engine)
    s.client = await Client.connect(temporal.address)
    s.http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=60,
    )
    try:
        yield s
    finally:
        await s.http.aclose()
        server.should_exit = True
        await serving
        worker.stop()
        await engine.dispose()
        sink.stop()
        temporal.stop()
        pg.stop()
