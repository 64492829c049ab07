"""Shared fixtures: one embedded PostgreSQL per session, a clean schema per test, Temporal."""

import os
import shutil
import sys
import tempfile
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import Deps, all_activities
from activities.mailer import Mailer, Renderer
from activities.relay import OutboxRelay
from casework.devstack import create_database, start_postgres
from casework.search_attributes import register as register_search_attributes
from casework.worker import WORKFLOWS, relaying
from models import metadata
from models.db import libpq_url, make_engine, make_session_factory
from models.migrate import upgrade
from workflows.sandbox import workflow_runner

BIN = Path(sys.prefix) / "bin"


@pytest.fixture(scope="session")
def pg_root(tmp_path_factory):
    """A PostgreSQL server: TEST_DATABASE_URL's, or the embedded one from the wheel."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    # Not under pytest's 0700 tmp dirs: initdb runs as the unprivileged `pgserver` user.
    root = Path(tempfile.mkdtemp(prefix="casework-test-pg-"))
    root.chmod(0o755)
    handle = start_postgres(root / "data")
    yield handle.uri
    handle.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_root):
    url = create_database(pg_root, "casework_test")
    upgrade(url)
    return url


@pytest.fixture
async def sessions(database_url):
    """A session factory on a freshly emptied schema."""
    engine = make_engine(database_url, pool_size=5)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="module")
async def ts_env():
    """The time-skipping test server: a 7-day window passes in milliseconds.

    One per module: time skips for every workflow on the server, so one module's leftovers
    (say, a routing workflow started with no worker) must not hold another module's clock.
    """
    env = await time_skipping()
    yield env
    await env.shutdown()


async def time_skipping() -> WorkflowEnvironment:
    """The time-skipping test server, with the case workflows' search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    await register_search_attributes(env.client, env.client.namespace)
    return env


@pytest.fixture
async def fresh_env():
    """A time-skipping server of the test's own, for tests that jump days ahead: nothing
    left running by another test can hold its clock still."""
    env = await time_skipping()
    yield env
    await env.shutdown()


def make_deps(sessions, smtp_url: str = "smtp://disabled") -> Deps:
    return Deps(
        sessions=sessions,
        mailer=Mailer(smtp_url, "support@casework.test"),
        renderer=Renderer(),
        portal_url="http://casework.test/portal",
    )


@asynccontextmanager
async def running_worker(client, deps: Deps, task_queue: str | None = None):
    task_queue = task_queue or f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=all_activities(deps),
        workflow_runner=workflow_runner(),
    ):
        relay = OutboxRelay(deps, listen_conninfo=libpq_url(deps.sessions.kw["bind"].url))
        async with relaying(relay):
            try:
                yield task_queue
            finally:
                await terminate_cases(client, deps.sessions)


async def terminate_cases(client, sessions) -> None:
    """End this test's still-running case workflows.

    The time-skipping server skips time for everyone: a workflow left behind without a worker
    would hold the clock still in later tests.
    """
    from sqlalchemy import select

    from models.cases import Case

    async with sessions() as db:
        ids = (await db.execute(select(Case.workflow_id))).scalars().all()
    for wf_id in ids:
        try:
            await client.get_workflow_handle(wf_id).terminate("test over")
        except Exception:
            pass  # already finished


ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
async def api(sessions, database_url, ts_env):
    """An httpx client on the real app (ASGI), as admin; Temporal is the time-skipping server.

    `api.task_queue` is the queue the app starts workflows on: run a worker on it with
    `running_worker(ts_env.client, make_deps(sessions), api.task_queue)`.
    """
    from casework.settings import Settings

    settings = Settings(
        DATABASE_URL=database_url,
        CASEWORK_ADMIN_TOKEN=ADMIN_TOKEN,
        CASEWORK_TASK_QUEUE=f"tq-{uuid.uuid4().hex[:8]}",
    )
    async with serving(settings, ts_env.client) as client:
        yield client


@asynccontextmanager
async def serving(settings, temporal_client):
    """An httpx client, as admin, on the real app made with `settings` (ASGI), which talks
    to Temporal through `temporal_client`; `.task_queue` and `.app` are the app's."""
    import httpx

    from api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.temporal.client = temporal_client
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://casework.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as client:
            client.task_queue = settings.task_queue
            client.app = app
            yield client


async def mint(api, role: str, subject_id=None) -> dict:
    """Headers for a freshly minted token of `role` acting as `subject_id`."""
    body = {"role": role}
    if subject_id is not None:
        body["subject_id"] = str(subject_id)
    r = await api.post("/api/v1/tokens", json=body)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
