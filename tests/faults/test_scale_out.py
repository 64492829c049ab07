"""Scale-out on one box: two `casework worker` and two `casework api` processes on the same
PostgreSQL and Temporal. Under a load of case openings and replies spread over both APIs, one
worker and one API are killed with SIGKILL; a caller whose API died retries on the other one
with the same Idempotency-Key (what a load balancer's client does). Then every case exists
exactly once, as a row and a running workflow, every reply was applied once, and each mail
(acknowledgement, reply) reached its customer once."""

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from casework.devstack import free_port
from models.cases import CaseEvent, Notification
from tests.faults.conftest import ADMIN, WorkerProcess
from tests.faults.test_api_kill import case_rows, case_workflows, ready, stack_env

pytestmark = pytest.mark.slow

CASES = 120
KILL_AFTER = 40  # openings answered before the kill: the rest arrive on the survivors
SENDERS = 1  # mails in flight per worker: what a killed worker may leave sent but unmarked


class ApiProcess:
    """`casework api` in a child process on a port of its own."""

    def __init__(self, stack, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = os.environ | stack_env(stack) | {"CASEWORK_API_PORT": str(self.port)}
        log = open(stack.home / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [str(Path(sys.prefix) / "bin" / "casework"), "api"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:  # still draining requests: no longer
                self.kill()


class Balancer:
    """Sends each request to its chosen API; when that one is unreachable (killed), sends
    the same request, same key, to the other."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self.failovers = 0

    async def post(self, first: int, path: str, body: dict, key: str) -> httpx.Response:
        headers = {"Idempotency-Key": key}
        for attempt in range(60):
            http = self.clients[(first + attempt) % 2]
            try:
                r = await http.post(path, json=body, headers=headers)
            except httpx.TransportError:
                self.failovers += 1
                continue
            if r.status_code == 429:  # the case is busy: wait as told, then again
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            return r
        raise AssertionError(f"{path} never answered")

    async def get_when_there(self, first: int, path: str, timeout: float = 90) -> httpx.Response:
        """GET `path` until it is there (200): a case accepted with 202 has no row until its
        intake has run, which waits for a worker when one was just killed."""
        for attempt in range(int(timeout / 0.2)):
            try:
                r = await self.clients[(first + attempt) % 2].get(path)
            except httpx.TransportError:
                continue
            if r.status_code != 404:
                return r
            await asyncio.sleep(0.2)
        raise AssertionError(f"{path} was never there")


async def test_two_workers_and_two_apis_lose_one_of_each_under_load(stack):
    stack.worker.env["CASEWORK_OUTBOX_SENDERS"] = str(SENDERS)
    stack.worker.stop()  # the fixture's worker, restarted with the sender count above
    workers = [stack.worker, WorkerProcess(stack.worker.env, stack.home / "worker-2.log")]
    apis = [ApiProcess(stack, "api-1"), ApiProcess(stack, "api-2")]
    for worker in workers:
        worker.start()
    started = time.monotonic()
    try:
        await asyncio.gather(*(ready(api.url) for api in apis))
        clients = [
            httpx.AsyncClient(
                base_url=api.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
            )
            for api in apis
        ]
        balancer = Balancer(clients)
        opened: dict[int, str] = {}
        replied: list[int] = []
        later: list[int] = []  # answered 202: intake still to come

        async def customer(n: int) -> None:
            """Opens case n on one API, then an agent replies to it through the other."""
            body = {"subject": f"Case {n}", "channel": "email", "email": f"c{n}@mail.example"}
            r = await balancer.post(n % 2, "/api/v1/cases", body, f"open-{n}")
            assert r.status_code in (200, 201, 202), r.text
            opened[n] = r.json()["id"]
            if r.status_code == 202:  # accepted, intake to come: act once the case is there
                later.append(n)
                r = await balancer.get_when_there(n % 2, f"/api/v1/cases/{opened[n]}")
                assert r.status_code == 200, r.text
            path = f"/api/v1/cases/{opened[n]}/actions/respond"
            r = await balancer.post(n % 2 + 1, path, {"body": f"Reply {n}"}, f"reply-{n}")
            assert r.status_code == 200, r.text
            replied.append(n)

        async def kill_one_of_each() -> tuple[int, int]:
            while len(opened) < KILL_AFTER:
                await asyncio.sleep(0.01)
            workers[0].kill()
            apis[0].kill()
            return len(opened), len(replied)

        killing = asyncio.create_task(kill_one_of_each())
        load = []
        for n in range(CASES):  # ~3 s of arrivals: the kill lands while they keep coming
            load.append(asyncio.create_task(customer(n)))
            await asyncio.sleep(0.025)
        await asyncio.gather(*load)
        for http in clients:
            await http.aclose()
        assert apis[0].proc.returncode == -9 and workers[0].proc.returncode == -9
        killed_at, replied_then = await killing
        assert KILL_AFTER <= killed_at < CASES and replied_then < CASES  # mid-load
        assert balancer.failovers > 0

        # Every case answered, exactly once as a row and a running workflow.
        assert len(opened) == CASES and len(set(opened.values())) == CASES
        assert sorted(replied) == list(range(CASES))

        async def all_sent():
            async with stack.sessions() as db:
                sent = await db.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status == "sent")
                )
            return sent == 2 * CASES

        await stack.wait(all_sent, timeout=90, every=0.5)
        rows = await case_rows(stack)
        flows = await case_workflows(stack)
        assert len(rows) == CASES and set(rows) == set(flows)
        assert set(flows.values()) == {"RUNNING"}
        async with stack.sessions() as db:
            mails = (
                await db.execute(
                    select(
                        Notification.case_id,
                        Notification.template,
                        Notification.recipient,
                        Notification.message_id,
                    )
                )
            ).all()
            replies = Counter(
                (
                    await db.execute(select(CaseEvent.case_id).where(CaseEvent.kind == "respond"))
                ).scalars()
            )
        ids = set(opened.values())
        per_case = Counter((str(case_id), template) for case_id, template, _, _ in mails)
        assert set(per_case) == {(i, t) for i in ids for t in ("acknowledgement", "reply")}
        assert set(per_case.values()) == {1}  # one acknowledgement and one reply per case
        assert {str(c) for c in replies} == ids and set(replies.values()) == {1}

        await asyncio.sleep(2)  # long enough for a mail sent twice to arrive twice
        # At the sink: each customer's two messages, once each (a mailbox's view, by
        # Message-ID), to the right address.
        expected = {message_id: recipient for _, _, recipient, message_id in mails}
        delivered = {m.message["Message-ID"]: m.rcpt_tos[0] for m in stack.sink.delivered}
        assert delivered == expected and len(delivered) == 2 * CASES
        assert Counter(delivered.values()) == {f"c{n}@mail.example": 2 for n in range(CASES)}
        # Raw: a mail the killed worker had in flight (the server's 250 in, its row's commit
        # not yet) goes again as the same message, at most SENDERS of them; all others once.
        raw = Counter(m.message["Message-ID"] for m in stack.sink.messages)
        assert set(raw) == set(expected)
        assert sum(raw.values()) - len(raw) <= SENDERS and max(raw.values()) <= 2
        print(
            f"{CASES} cases and replies, killed after {killed_at} openings, "
            f"{balancer.failovers} failovers, {len(later)} answered 202, "
            f"{sum(raw.values())} mails for {len(raw)} "
            f"messages, {time.monotonic() - started:.1f}s"
        )
    finally:
        for api in apis:
            api.stop()
        workers[1].stop()
