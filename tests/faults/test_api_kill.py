"""SIGKILL of `casework api` in the middle of 200 concurrent POST /cases: every case row
has its running workflow and every case workflow its row (the API writes no case row; the
workflow's intake does, in one transaction)."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from casework.devstack import free_port
from models.cases import Case
from tests import factories
from tests.faults.conftest import ADMIN

POSTS = 200


def start_api(stack, port: int) -> subprocess.Popen:
    env = {**os.environ, **{k: str(v) for k, v in stack_env(stack).items()}}
    env["CASEWORK_API_PORT"] = str(port)
    log = open(stack.home / "api.log", "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [str(Path(sys.prefix) / "bin" / "casework"), "api"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stack_env(stack) -> dict:
    s = stack.settings
    return {
        "DATABASE_URL": s.database_url,
        "TEMPORAL_ADDRESS": s.temporal_address,
        "CASEWORK_ADMIN_TOKEN": ADMIN,
        "CASEWORK_TASK_QUEUE": s.task_queue,
    }


async def ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("casework api never answered")


async def test_an_api_killed_mid_burst_leaves_no_half_opened_case(stack):
    account = await factories.account(stack.sessions, "Acme")
    ada = await factories.contact(stack.sessions, account.id, email="ada@acme.example")
    await factories.agent(stack.sessions, "Ann", capacity=1000)
    port = free_port()
    api = start_api(stack, port)
    url = f"http://127.0.0.1:{port}"
    await ready(url)
    answered: list[int] = []
    body = {"subject": "Router down", "channel": "api", "contact_id": str(ada.id)}
    limits = httpx.Limits(max_connections=POSTS)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60, limits=limits
    ) as http:

        async def post() -> None:
            try:
                answered.append((await http.post("/api/v1/cases", json=body)).status_code)
            except httpx.HTTPError:
                answered.append(0)  # the API died under it

        burst = [asyncio.create_task(post()) for _ in range(POSTS)]
        while len(answered) < 20:  # some are answered, most are still on their way
            await asyncio.sleep(0.01)
        api.send_signal(signal.SIGKILL)
        api.wait(10)
        await asyncio.gather(*burst)
    assert 20 <= answered.count(201) < POSTS and answered.count(0) > 0, answered

    async def settled():
        rows = await case_rows(stack)
        flows = await case_workflows(stack)
        return (rows, flows) if rows and set(rows) == set(flows) else None

    rows, flows = await stack.wait(settled, timeout=120, every=0.5)
    assert set(rows) == set(flows)
    assert all(status == "RUNNING" for status in flows.values()), flows
    assert all(state == "open" for state in rows.values()), rows  # intake ran for every one
    print(f"{len(rows)} cases opened of {POSTS} POSTs, {answered.count(201)} answered")


async def case_rows(stack) -> dict[str, str]:
    async with stack.sessions() as db:
        got = await db.execute(select(Case.workflow_id, Case.state))
        return dict(got.all())


async def case_workflows(stack) -> dict[str, str]:
    found = {}
    async for wf in stack.client.list_workflows("WorkflowType = 'CaseWorkflow'"):
        found[wf.id] = wf.status.name if wf.status else "?"
    return found
