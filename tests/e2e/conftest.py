"""The real stack for end-to-end tests: Temporal dev server (with its Web UI), PostgreSQL, SMTP,
worker, HTTP API."""

import asyncio
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.client import Client

from api.app import create_app
from casework.devstack import create_database, free_port, start_smtp_sink, start_temporal
from casework.settings import Settings
from casework.worker import build_deps, build_relay, build_worker, relaying
from models.migrate import upgrade

ADMIN = "e2e-admin-token"


@pytest.fixture(scope="module")
async def stack(pg_root):
    """Everything `casework dev` runs, on free ports, with the API served over real HTTP."""
    home = Path(tempfile.mkdtemp(prefix="casework-e2e-"))
    database_url = create_database(pg_root, f"e2e_{uuid.uuid4().hex[:8]}")
    upgrade(database_url)
    # With its Web UI, as `casework dev` runs it: the case page links a case's workflow there.
    temporal = start_temporal(
        db_file=home / "temporal.db", port=free_port(), ui_port=free_port(), log_file=home / "t.log"
    )
    sink = start_smtp_sink()
    port = free_port()
    settings = Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal.address,
        SMTP_URL=sink.url,
        CASEWORK_ADMIN_TOKEN=ADMIN,
        CASEWORK_API_PORT=port,
        CASEWORK_PUBLIC_URL=f"http://127.0.0.1:{port}",  # the links in mails lead here
        CASEWORK_TASK_QUEUE="casework-e2e",
        CASEWORK_TEMPORAL_UI_URL=temporal.ui_url,
    )
    client = await Client.connect(temporal.address)
    deps = build_deps(settings)
    worker = build_worker(client, settings, deps)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    async with worker, relaying(build_relay(settings, deps)):
        while not server.started:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=30,
        ) as http:
            yield {
                "http": http,
                "sink": sink,
                "temporal": temporal,
                "settings": settings,
                "client": client,
                "sessions": deps.sessions,
            }
        server.should_exit = True
        await serving
    sink.stop()
    temporal.stop()
