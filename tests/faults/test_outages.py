"""Outages of the parts we run on: SMTP refusing, PostgreSQL gone for 30 s, Temporal
restarted. Work is delayed, never lost, never done twice; the API answers 503, not 500."""

import asyncio
import time

import pytest
from sqlalchemy import select, text

from activities.relay import OutboxRelay
from models.cases import Case, CaseEvent, Notification
from tests.conftest import make_deps
from tests.smtp import refuse_first, start_smtp_sink
from tests.workflows.test_outbox_relay import pending_rows, statuses

pytestmark = pytest.mark.slow


async def setup_customer(stack, *, reopen_window_seconds=None, sla_seconds=None) -> None:
    http = stack.http
    acct = await http.post("/api/v1/accounts", json={"name": "Acme", "domains": ["acme.example"]})
    sla_ids = []
    if sla_seconds:
        d = await http.post(
            "/api/v1/sla-definitions",
            json={
                "name": "Fast",
                "kind": "response",
                "duration_seconds": sla_seconds,
                "warn_at": [0.5],
            },
        )
        sla_ids.append(d.json()["id"])
    r = await http.post(
        "/api/v1/entitlements",
        json={
            "name": "Std",
            "account_id": acct.json()["id"],
            "sla_definition_ids": sla_ids,
            "reopen_window_seconds": reopen_window_seconds,
        },
    )
    assert r.status_code == 201, r.text
    r = await http.post("/api/v1/agents", json={"name": "Ann", "email": "ann@casework.example"})
    assert r.status_code == 201, r.text


async def open_case(stack, n=1) -> dict:
    r = await stack.http.post(
        "/api/v1/cases",
        json={"subject": f"Case {n}", "channel": "email", "email": f"c{n}@acme.example"},
    )
    assert r.status_code == 201, r.text
    case = r.json()

    async def routed():
        got = (await stack.http.get(f"/api/v1/cases/{case['id']}")).json()
        return got if got["assigned_agent_id"] else None

    return await stack.wait(routed, timeout=30)


async def act(stack, case, action, body=None):
    return await stack.http.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body)


async def notifications(stack) -> list[Notification]:
    async with stack.sessions() as db:
        return list((await db.execute(select(Notification))).scalars())


@pytest.mark.parametrize(
    "stack", [{"reply": refuse_first(1, "421 4.3.0 try later")}], indirect=True
)
async def test_smtp_421_is_retried_then_delivered_once(stack):
    r = await stack.http.post(
        "/api/v1/cases", json={"subject": "Hi", "channel": "email", "email": "x@mail.example"}
    )
    assert r.status_code == 201

    async def delivered():
        rows = await notifications(stack)
        return rows if rows and rows[0].status == "sent" else None

    (row,) = await stack.wait(delivered, timeout=30)
    assert row.attempts == 2 and "421" in (row.last_error or "")
    assert len(stack.sink.refused) == 1 and len(stack.sink.messages) == 1


@pytest.mark.parametrize(
    "stack", [{"reply": lambda envelope: "550 5.1.1 no such user"}], indirect=True
)
async def test_smtp_550_marks_the_notification_failed_and_says_so(stack):
    r = await stack.http.post(
        "/api/v1/cases", json={"subject": "Hi", "channel": "email", "email": "gone@mail.example"}
    )
    case = r.json()

    async def failed():
        rows = await notifications(stack)
        return rows if rows and rows[0].status == "failed" else None

    (row,) = await stack.wait(failed, timeout=30)
    await asyncio.sleep(3)  # long enough for a retry, were there one
    (row,) = await notifications(stack)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("550")
    timeline = (await stack.http.get(f"/api/v1/cases/{case['id']}/timeline")).json()["items"]
    assert "notification_failed" in [e["kind"] for e in timeline]
    assert len(stack.sink.refused) == 1


async def test_postgres_down_for_30_seconds_delays_but_loses_nothing(stack):
    await setup_customer(stack, reopen_window_seconds=5)
    case = await open_case(stack)
    r = await act(stack, case, "resolve", {"resolution": "Fixed"})
    assert r.status_code == 200, r.text
    stack.pg.stop()
    try:
        started = time.monotonic()
        r = await stack.http.get(f"/api/v1/cases/{case['id']}")
        assert r.status_code == 503 and r.headers["retry-after"]
        assert r.headers["content-type"].startswith("application/problem+json")
        assert time.monotonic() - started < 10
        await asyncio.sleep(30)  # the 5 s window lapses meanwhile; closing it must wait
    finally:
        stack.pg.start()

    async def closed():
        got = (await stack.http.get(f"/api/v1/cases/{case['id']}")).json()
        return got if got["state"] == "closed" else None

    await stack.wait(closed, timeout=60)

    async def all_sent():
        rows = await notifications(stack)
        return rows if len(rows) == 5 and all(n.status == "sent" for n in rows) else None

    rows = await stack.wait(all_sent, timeout=60)
    assert sorted(n.template for n in rows) == sorted(
        ["acknowledgement", "assignment", "resolution_proposed", "closed", "csat_survey"]
    )
    assert len(stack.sink.messages) == 5


async def test_after_a_postgres_restart_the_api_answers_503_then_200_never_500(stack):
    """The API does not ping a pooled connection before using it: the first request on a
    connection the restart broke is a 503, and the pool renews itself for the next ones."""
    await setup_customer(stack)
    case = await open_case(stack)
    reads = [f"/api/v1/cases/{case['id']}", "/api/v1/cases", "/api/v1/agents"]
    # Several pooled connections, all of them broken by the restart.
    await asyncio.gather(*(stack.http.get(path) for path in reads * 3))
    stack.pg.stop()
    stack.pg.start()
    statuses = [(await stack.http.get(path)).status_code for path in reads * 4]
    assert 500 not in statuses, statuses
    assert statuses.count(503) <= 1 and statuses[-len(reads) :] == [200] * len(reads), statuses
    r = await act(stack, case, "note", {"body": "back again"})
    assert r.status_code == 200, r.text


async def test_temporal_restart_keeps_timers_and_actions(stack):
    await setup_customer(stack, reopen_window_seconds=20, sla_seconds=40)
    resolved = await open_case(stack, 1)
    assert (await act(stack, resolved, "resolve", {"resolution": "ok"})).status_code == 200
    waiting = await open_case(stack, 2)
    untouched = await open_case(stack, 3)
    stack.temporal.stop()
    try:
        started = time.monotonic()
        r = await act(stack, waiting, "respond", {"body": "hello?"})
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] and time.monotonic() - started < 30
        assert (await stack.http.get(f"/api/v1/cases/{waiting['id']}")).status_code == 200
        health = await stack.http.get("/healthz")
        assert health.status_code == 503
    finally:
        stack.temporal.start()
    r = await act(stack, waiting, "respond", {"body": "hello again"})
    assert r.status_code == 200, r.text

    async def state(case, want):
        got = (await stack.http.get(f"/api/v1/cases/{case['id']}")).json()
        return got if got["state"] == want else None

    await stack.wait(lambda: state(resolved, "closed"), timeout=60)  # the window still lapsed

    async def breached():
        async with stack.sessions() as db:
            kinds = (
                (
                    await db.execute(
                        select(CaseEvent.kind).where(CaseEvent.case_id == untouched["id"])
                    )
                )
                .scalars()
                .all()
            )
        return "sla_breached" in kinds and "sla_warning" in kinds

    await stack.wait(breached, timeout=90)
    async with stack.sessions() as db:
        row = await db.get(Case, untouched["id"])
    assert row.breached


async def test_a_mail_accepted_as_postgres_drops_the_marking_commit_is_not_sent_again(sessions):
    """The server said 250, then the connection that would mark the row sent was cut (what a
    PostgreSQL restart does to it): the row stays pending, and the next try only marks it."""
    sink = start_smtp_sink()
    cut = []

    async def cut_the_relays_connection(notification_id: str) -> None:
        if cut:
            return
        async with sessions() as db:
            # The relay's connection is the one idle in its transaction, holding the row lock.
            killed = await db.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND state = 'idle in transaction'"
                )
            )
            cut.extend(killed.scalars())

    try:
        (nid,) = await pending_rows(sessions, 1)
        relay = OutboxRelay(make_deps(sessions, sink.url), before_mark=cut_the_relays_connection)
        assert await relay.drain() == 0  # sent, but not settled: the commit failed
        assert cut == [True]
        assert len(sink.messages) == 1 and await statuses(sessions) == ["pending"]
        assert await relay.drain() == 1
        assert await statuses(sessions) == ["sent"]
        assert len(sink.messages) == 1  # marked on the retry, not sent again
        async with sessions() as db:
            row = await db.get(Notification, nid)
        assert (row.attempts, row.message_id) == (1, sink.messages[0].message["Message-ID"])
    finally:
        sink.stop()
