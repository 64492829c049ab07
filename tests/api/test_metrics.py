"""The service metrics (GET /api/v1/metrics/...) on a seeded history whose expected values
are worked out by hand in the comments: attainment, FCR, reopen rate, medians, backlog, CSAT."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models.cases import CaseEvent
from tests import factories
from tests.pages.test_pages import clock, make_case

MON = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday: week 1 is Oct 5, week 2 Oct 12
SINCE, UNTIL = MON, MON + timedelta(weeks=2)
WINDOW = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}


def at(days: float, hours: float = 0) -> datetime:
    return MON + timedelta(days=days, hours=hours)


def met(name: str = "response") -> dict:
    return clock(name, name, MON, stopped=True)


def breached(name: str = "response") -> dict:
    return clock(name, name, MON, breached=True, stopped=True)


def lifetime(created: datetime, *, resolved=None, closed=None) -> dict:
    return {"created_at": created, "resolved_at": resolved, "closed_at": closed}


def answer(score: int, given: datetime) -> dict:
    """The survey's answer as the case row keeps it."""
    return {"score": score, "comment": None, "at": given.isoformat()}


async def reply(sessions, case, when: datetime, *, kind="respond", public=True):
    await factories.add(
        sessions,
        CaseEvent(
            case_id=case.id,
            key=f"{kind}:{uuid.uuid4()}",
            kind=kind,
            actor_role="agent",
            public=public,
            body="hi",
            data={},
            at=when,
        ),
    )


@pytest.fixture
async def history(sessions):
    """A: P1, closed, 1 reply after 1 h, resolved after 4 h, CSAT 5; clocks met + breached.
    B: P2, resolved after 48 h and reopened once, 2 replies (first after 2 h); clocks met +
       still running. C: P1, open since week 2, 1 reply after 6 h; clocks breached + paused.
    D: P3, closed after 10 h with no reply (a note only), CSAT 2; clock met.
    E: opened before the window, still open, breached. G: all before the window (CSAT 1)."""
    a = await make_case(
        sessions,
        state="closed",
        priority=1,
        **lifetime(at(0, 10), resolved=at(0, 14), closed=at(1, 3)),
        sla=[met("response"), breached("resolution")],
        csat=answer(5, at(1, 1)),
    )
    await reply(sessions, a, at(0, 11))
    b = await make_case(
        sessions,
        state="resolved",
        priority=2,
        created_at=at(1),
        resolved_at=at(3),
        reopen_count=1,
        sla=[met("response"), clock("resolution", "resolution", at(9), running=True)],
    )
    await reply(sessions, b, at(1, 2))
    await reply(sessions, b, at(2))
    c = await make_case(
        sessions,
        priority=1,
        created_at=at(7),
        sla=[
            clock("response", "response", at(7, 1), breached=True, paused=True),
            clock("resolution", "resolution", at(9), paused=True),
        ],
    )
    await reply(sessions, c, at(7, 6))
    d = await make_case(
        sessions,
        state="closed",
        priority=3,
        **lifetime(at(8), resolved=at(8, 10), closed=at(9)),
        sla=[met()],
        csat=answer(2, at(9, 5)),
    )
    await reply(sessions, d, at(8, 1), kind="note", public=False)
    await make_case(sessions, priority=2, created_at=at(-7), sla=[breached()])
    await make_case(
        sessions,
        state="closed",
        **lifetime(at(-15), resolved=at(-8), closed=at(-7)),
        reopen_count=1,
        sla=[met()],
        csat=answer(1, at(-5)),
    )


async def get(api, path: str, **params) -> dict:
    r = await api.get(f"/api/v1/metrics/{path}", params=WINDOW | params)
    assert r.status_code == 200, r.text
    return r.json()


def weekly(rows: list[dict], *keys: str) -> dict:
    return {r["week"]: tuple(r[k] for k in keys) for r in rows}


async def test_sla_attainment_counts_clocks_stopped_without_breach_of_those_decided(api, history):
    body = await get(api, "sla-attainment")
    # Decided: A met + breached, B met, C breached, D met (B's running and C's paused
    # clocks are not decided; E and G were opened before the window): 3 of 5.
    assert body["total"] == {"count": 3, "of": 5, "rate": 0.6}
    assert weekly(body["by_week"], "count", "of") == {"2026-10-05": (2, 3), "2026-10-12": (1, 2)}
    by_priority = {r["priority"]: (r["count"], r["of"]) for r in body["by_priority"]}
    assert by_priority == {1: (1, 3), 2: (1, 1), 3: (1, 1)}


async def test_first_contact_resolution_is_one_reply_and_never_reopened(api, history):
    body = await get(api, "first-contact-resolution")
    # Resolved in the window: A (1 reply: yes), B (2 replies, reopened), D (no reply).
    assert body["total"] == {"count": 1, "of": 3, "rate": 0.3333}
    assert weekly(body["by_week"], "count", "of") == {"2026-10-05": (1, 2), "2026-10-12": (0, 1)}


async def test_reopen_rate_is_reopened_of_resolved_or_closed(api, history):
    body = await get(api, "reopen-rate")
    assert body["total"] == {"count": 1, "of": 3, "rate": 0.3333}  # B of A, B, D (not G)


async def test_median_times_to_first_response_and_resolution(api, history):
    first = await get(api, "first-response")
    assert first["total"] == {"seconds": 7200.0, "count": 3}  # 1 h, 2 h, 6 h
    assert weekly(first["by_week"], "seconds") == {
        "2026-10-05": (5400.0,),
        "2026-10-12": (21600.0,),
    }
    resolved = await get(api, "resolution")
    assert resolved["total"] == {"seconds": 36000.0, "count": 3}  # 4 h, 48 h, 10 h


async def test_backlog_is_the_open_cases_at_the_end_of_each_period(api, history):
    weeks = await get(api, "backlog")
    # End of week 1: B and E (C opens exactly then); at the end: B, C and E (D closed).
    assert [(p["at"][:10], p["open"]) for p in weeks["points"]] == [
        ("2026-10-12", 2),
        ("2026-10-19", 3),
    ]
    days = await get(api, "backlog", bucket="day")
    assert len(days["points"]) == 14
    # Oct 6 00:00: A (closed at 03:00) and E; Oct 7: B and E; Oct 9 (B, E), Oct 10 (B, E).
    assert [p["open"] for p in days["points"][:4]] == [2, 2, 2, 2]
    assert days["points"][8]["open"] == 4  # Oct 14 00:00: B, C, D (closes at 00:00), E


async def test_csat_averages_the_answers_given_in_the_window(api, history):
    body = await get(api, "csat")
    assert body["total"] == {"average": 3.5, "count": 2}  # 5 and 2; G's 1 is before
    assert body["by_score"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}


async def test_the_summary_carries_every_metric_over_one_window(api, history):
    body = await get(api, "summary")
    assert body["sla_attainment"]["total"]["rate"] == 0.6
    assert body["first_contact_resolution"]["total"]["rate"] == 0.3333
    assert body["csat"]["total"]["count"] == 2
    assert body["first_time_fix"]["completed"] == 0


async def test_the_window_defaults_to_the_last_eight_weeks_and_must_be_ordered(api, sessions):
    r = await api.get("/api/v1/metrics/reopen-rate")
    assert r.status_code == 200
    since = datetime.fromisoformat(r.json()["since"])
    until = datetime.fromisoformat(r.json()["until"])
    assert until - since == timedelta(weeks=8)
    assert abs(until - datetime.now(UTC)) < timedelta(minutes=1)
    r = await api.get(
        "/api/v1/metrics/csat", params={"since": UNTIL.isoformat(), "until": SINCE.isoformat()}
    )
    assert r.status_code == 422
    r = await api.get("/api/v1/metrics/csat", params={"until": "0001-01-02T00:00:00Z"})
    assert r.status_code == 422
    long = {"since": "2000-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z", "bucket": "day"}
    r = await api.get("/api/v1/metrics/backlog", params=long)
    assert r.status_code == 422 and "at most 1000" in r.json()["detail"]
    for path in ("summary", "first-time-fix"):
        r = await api.get(f"/api/v1/metrics/{path}", params={"until": "-8285799"})
        assert r.status_code == 422, path  # a number is not a date-time
