"""Customer health on a seeded history (GET /api/v1/metrics/health, /console/accounts and the
case page): the inputs are gathered per account and scored as api/services/health_score.py says,
most at risk first."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models.cases import CsatResponse
from tests import factories
from tests.conftest import mint
from tests.pages.test_pages import clock, make_case

NOW = datetime.now(UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def met() -> dict:
    return clock("response", "response", NOW, stopped=True)


def missed() -> dict:
    return clock("resolution", "resolution", NOW, breached=True, stopped=True)


@pytest.fixture
async def seeded(sessions):
    """Globex, worked out by hand (score 10):
    - volume: 2 cases 29-56 days ago, 6 in the last 28 days: (6 - 2) / 3 = +133 % → -20;
    - SLA: g1's clocks, one met and one breached: 50 % → -30;
    - reopen: g1 (closed, reopened once) and g2 (resolved) finished: 50 % → -15;
    - CSAT: one answer of 1 in the window (an older 5 is outside it) → -20;
    - one open major case with an open Globex child (a resolved major case is not counted) → -5.
    Acme: 1 case each window, its clock met, a CSAT 5 → 100. Initech: no case → 100."""
    acme = await factories.account(sessions, "Acme", domains=("acme.example",))
    globex = await factories.account(sessions, "Globex", domains=("globex.example",))
    initech = await factories.account(sessions, "Initech", domains=("initech.example",))
    g = {"account_id": globex.id}
    for n in (30, 50):
        await make_case(sessions, **g, state="closed", created_at=days_ago(n))
    await make_case(sessions, **g, state="closed", created_at=days_ago(90))  # before both
    g1 = await make_case(
        sessions, **g, state="closed", reopen_count=1, sla=[met(), missed()], created_at=days_ago(3)
    )
    await make_case(sessions, **g, state="resolved", created_at=days_ago(2))
    major = await make_case(sessions, subject="Outage", created_at=days_ago(1))
    ended = await make_case(
        sessions, state="resolved", subject="Old outage", created_at=days_ago(9)
    )
    await make_case(sessions, **g, parent_case_id=major.id, created_at=days_ago(1))
    await make_case(sessions, **g, parent_case_id=major.id, created_at=days_ago(1))
    await make_case(sessions, **g, parent_case_id=ended.id, created_at=days_ago(1))
    await make_case(sessions, **g, created_at=days_ago(1))
    old = await make_case(sessions, **g, state="closed", created_at=days_ago(60))
    a = {"account_id": acme.id}
    await make_case(sessions, **a, state="closed", created_at=days_ago(40))
    a1 = await make_case(sessions, **a, state="closed", sla=[met()], created_at=days_ago(5))
    for case, score, at in ((g1, 1, days_ago(1)), (old, 5, days_ago(40)), (a1, 5, days_ago(2))):
        await factories.add(
            sessions,
            CsatResponse(
                id=uuid.uuid4(),
                case_id=case.id,
                score=score,
                respondent_role="contact",
                created_at=at,
            ),
        )
    return {"acme": acme, "globex": globex, "initech": initech, "g1": g1}


async def test_accounts_come_most_at_risk_first_with_the_reasons(api, seeded):
    r = await api.get("/api/v1/metrics/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(i["name"], i["score"]) for i in body["items"]] == [
        ("Globex", 10),
        ("Acme", 100),
        ("Initech", 100),
    ]
    globex = body["items"][0]
    assert globex["band"] == "at_risk"
    penalties = {f["name"]: f["penalty"] for f in globex["factors"]}
    assert penalties == {
        "volume_trend": 20,
        "sla_attainment": 30,
        "csat": 20,
        "reopen_rate": 15,
        "open_major_cases": 5,
    }
    assert globex["reasons"] == [
        "SLA met on 1 of 2 clocks (50%)",
        "case volume rising (2 → 6 cases)",
        "CSAT 1.0 / 5 from 1 answers",
        "1 of 2 finished cases reopened",
        "1 open major case affecting it",
    ]
    assert body["items"][1]["reasons"] == []


async def test_the_health_list_pages_by_cursor(api, seeded):
    first = (await api.get("/api/v1/metrics/health", params={"limit": 2})).json()
    assert [i["name"] for i in first["items"]] == ["Globex", "Acme"]
    rest = await api.get("/api/v1/metrics/health", params={"cursor": first["next_cursor"]})
    assert [i["name"] for i in rest.json()["items"]] == ["Initech"]
    assert rest.json()["next_cursor"] is None
    bad = await api.get("/api/v1/metrics/health", params={"cursor": "nonsense"})
    assert bad.status_code == 422


async def test_a_customer_may_not_read_health(api, seeded, sessions):
    ada = await factories.contact(sessions, seeded["acme"].id)
    r = await api.get("/api/v1/metrics/health", headers=await mint(api, "contact", ada.id))
    assert r.status_code == 403


async def test_the_accounts_page_and_the_case_page_show_the_score_and_why(api, seeded):
    page = await api.get("/console/accounts")
    assert page.status_code == 200, page.text
    text = page.text
    assert text.index("Globex") < text.index("Acme") < text.index("Initech")
    assert "SLA met on 1 of 2 clocks (50%)" in text and "at risk" in text
    case = await api.get(f"/console/cases/{seeded['g1'].id}")
    assert case.status_code == 200
    assert "<strong>10</strong></a> / 100" in case.text
    assert "1 open major case affecting it" in case.text


async def test_scores_are_kept_for_a_while_then_computed_again(api, seeded, sessions):
    def initech(body: dict) -> int:
        return next(i["score"] for i in body["items"] if i["name"] == "Initech")

    first = (await api.get("/api/v1/metrics/health")).json()
    assert initech(first) == 100
    # Initech's first case, finished and reopened: +1 case on a baseline of 3 (-6.7) and all
    # finished cases reopened (-15): 78.
    await make_case(
        sessions,
        account_id=seeded["initech"].id,
        state="closed",
        reopen_count=1,
        created_at=days_ago(1),
    )
    kept = (await api.get("/api/v1/metrics/health")).json()
    assert initech(kept) == 100 and kept["until"] == first["until"]
    api.app.state.health_cache.seconds = 0  # as if CACHE_SECONDS had passed
    fresh = (await api.get("/api/v1/metrics/health")).json()
    assert initech(fresh) == 78 and fresh["until"] > first["until"]


async def test_a_merged_account_leaves_the_health_list(api, seeded, sessions):
    """Merged into Acme, Initech is no account of its own any more: the list, like every
    list, leaves it out."""
    from sqlalchemy import text

    async with sessions() as db, db.begin():
        await db.execute(
            text("UPDATE accounts SET merged_into_id = :a WHERE id = :i"),
            {"a": seeded["acme"].id, "i": seeded["initech"].id},
        )
    names = [i["name"] for i in (await api.get("/api/v1/metrics/health")).json()["items"]]
    assert names == ["Globex", "Acme"]
