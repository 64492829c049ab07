"""Open cases over HTTP and learn from PostgreSQL when each is routed and acknowledged.

"Routed and acknowledged" = the case has an assigned agent (an `assignments` row) and its
acknowledgement notification (outbox key `<case id>:ack`) has status 'sent'. The instant is
the later of the two, as written by the worker (same machine clock as this driver).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.common import bounded, log

DONE_SQL = """
SELECT c.id::text, extract(epoch FROM greatest(a.at, n.sent_at))::float8
FROM cases c
JOIN notifications n ON n.key = c.id::text || ':ack' AND n.status = 'sent'
JOIN LATERAL (SELECT min(created_at) AS at FROM assignments WHERE case_id = c.id) a
  ON a.at IS NOT NULL
WHERE c.id = ANY(%s::uuid[]) AND c.assigned_agent_id IS NOT NULL
"""


@dataclass
class Opened:
    ids: list[str] = field(default_factory=list)
    created: dict[str, float] = field(default_factory=dict)  # case id -> POST started (epoch)
    post_latency: list[float] = field(default_factory=list)  # seconds
    post_errors: int = 0
    first_error: str | None = None
    t_start: float = 0.0  # epoch, first POST sent
    t_posted: float = 0.0  # epoch, last POST answered
    done: dict[str, float] = field(default_factory=dict)  # case id -> routed+acked (epoch)
    timed_out: bool = False

    @property
    def t_done(self) -> float | None:
        return max(self.done.values()) if self.done else None

    def __repr__(self) -> str:
        return (
            f"Opened(posted={len(self.ids)}, errors={self.post_errors}, done={len(self.done)}, "
            f"timed_out={self.timed_out}, first_error={self.first_error!r})"
        )


async def post_cases(
    stack,
    n: int,
    *,
    concurrency: int = 50,
    contacts: list[str] | None = None,
    pace: float | None = None,
    subject: str = "Bench case",
) -> Opened:
    """POST n cases with at most `concurrency` in flight; case i no earlier than i*pace s."""
    contacts = contacts or stack.contacts
    out = Opened()
    t0_mono = time.monotonic()
    out.t_start = time.time()
    async with stack.http("integration") as http:

        async def one(i: int) -> None:
            if pace:
                delay = t0_mono + i * pace - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            body = {
                "subject": f"{subject} {i}",
                "description": "The router drops Wi-Fi every few minutes since the update.",
                "channel": "email",
                "contact_id": contacts[i % len(contacts)],
            }
            began_wall, began = time.time(), time.perf_counter()
            try:
                r = await http.post("/api/v1/cases", json=body)
            except Exception as err:  # counted, never fatal: the figure says how many failed
                out.post_errors += 1
                out.first_error = out.first_error or repr(err)
                return
            took = time.perf_counter() - began
            if r.status_code != 201:
                out.post_errors += 1
                out.first_error = out.first_error or f"{r.status_code} {r.text[:300]}"
                return
            out.post_latency.append(took)
            case_id = r.json()["id"]
            out.ids.append(case_id)
            out.created[case_id] = began_wall

        await bounded(n, concurrency, one)
    out.t_posted = time.time()
    return out


async def wait_done(stack, opened: Opened, *, timeout: float) -> Opened:
    """Poll PostgreSQL until every opened case is routed and acknowledged (or timeout)."""
    pending = [i for i in opened.ids if i not in opened.done]
    deadline = time.monotonic() + timeout
    while pending:
        for case_id, at in await stack.sql(DONE_SQL, (pending,)):
            opened.done[case_id] = at
        pending = [i for i in pending if i not in opened.done]
        if not pending:
            break
        if time.monotonic() > deadline:
            opened.timed_out = True
            log(f"  {len(pending)} case(s) not routed+acknowledged after {timeout:.0f}s")
            break
        stack.check_alive()
        await asyncio.sleep(0.5)
    return opened


async def open_cases(
    stack,
    n: int,
    *,
    concurrency: int = 50,
    contacts: list[str] | None = None,
    pace: float | None = None,
    timeout: float | None = None,
    subject: str = "Bench case",
    remember: bool = True,
) -> Opened:
    """POST n cases and wait until each is routed and acknowledged."""
    opened = await post_cases(
        stack, n, concurrency=concurrency, contacts=contacts, pace=pace, subject=subject
    )
    await wait_done(stack, opened, timeout=timeout or max(60.0, n / 10))
    if remember:
        stack.open_cases.extend(i for i in opened.ids if i in opened.done)
    return opened


async def drain(stack, *, timeout: float = 300.0) -> bool:
    """Wait until the previous phase's work is done: no case still waiting for its intake
    (state 'new') and nothing pending in the outbox."""

    async def empty() -> bool:
        return not await stack.scalar(
            "SELECT (SELECT count(*) FROM notifications WHERE status = 'pending')"
            " + (SELECT count(*) FROM cases WHERE state = 'new' AND number NOT LIKE 'SY%%')"
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await empty():
            await asyncio.sleep(1.0)  # let the last workflow tasks settle
            return True
        await asyncio.sleep(0.5)
    log("  cases still in intake or mail still pending; going on")
    return False
