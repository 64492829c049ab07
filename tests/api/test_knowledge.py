"""Knowledge over the API: search answers snippets, an edit is a new version, a customer's
verdicts count once a day, and the deflection rate (worked out by hand) on seeded weeks."""

import uuid
from datetime import UTC, datetime, timedelta

from models.knowledge import KnowledgeFeedback
from models.people import KnowledgeArticle
from tests import factories
from tests.conftest import mint
from tests.pages.test_pages import make_case

V1 = "/api/v1"
MON = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday: week 1 is Oct 5, week 2 Oct 12
WINDOW = {"since": MON.isoformat(), "until": (MON + timedelta(weeks=2)).isoformat()}


def at(days: float, hours: float = 0) -> datetime:
    return MON + timedelta(days=days, hours=hours)


async def article(api, **fields) -> dict:
    body = {"title": "Clear a paper jam", "body": "Open the rear door and pull the paper."}
    r = await api.post(f"{V1}/knowledge", json=body | fields)
    assert r.status_code == 201, r.text
    return r.json()


async def test_search_answers_ranked_articles_with_escaped_highlighted_snippets(api):
    jam = await article(api, body="Open the <b>rear</b> door & pull the jammed paper slowly.")
    await article(api, title="Printer offline", body="Print a network status page.")
    r = await api.get(f"{V1}/knowledge/search", params={"q": "paper jammed in the printer"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [a["id"] for a in items][0] == jam["id"]
    hit = items[0]
    assert {"title", "body", "tags", "published", "deflections", "version"} <= hit.keys()
    # The article's own markup never becomes markup (ts_headline drops tags; the rest is
    # escaped); only the matched words are marked.
    assert "<b>" not in hit["snippet"] and "rear" in hit["snippet"] and "&amp;" in hit["snippet"]
    assert "<mark>jammed</mark>" in hit["snippet"] and "<mark>paper</mark>" in hit["snippet"]
    assert hit["rank"] > items[1]["rank"] if len(items) > 1 else True
    # Websearch syntax asks for exactly that: a word excluded, a phrase.
    r = await api.get(f"{V1}/knowledge/search", params={"q": "printer -offline"})
    assert [a["id"] for a in r.json()["items"]] == [jam["id"]] or r.json()["items"] == []
    r = await api.get(f"{V1}/knowledge/search", params={"q": '"network status"'})
    assert [a["title"] for a in r.json()["items"]] == ["Printer offline"]
    for q in ("the a of", "!!!", "&|:*"):  # stop words and operators only: nothing, never a 5xx
        r = await api.get(f"{V1}/knowledge/search", params={"q": q})
        assert r.status_code == 200 and r.json()["items"] == [], q


async def test_an_edit_bumps_the_version_and_is_searchable_at_once(api, sessions):
    jam = await article(api)
    assert jam["version"] == 1
    r = await api.patch(f"{V1}/knowledge/{jam['id']}", json={"body": "Lift the scanner lid."})
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["title"]) == (2, "Clear a paper jam")
    r = await api.patch(f"{V1}/knowledge/{jam['id']}", json={"tags": ["scanner"]})
    assert r.json()["version"] == 3
    found = await api.get(f"{V1}/knowledge/search", params={"q": "scanner lid"})
    assert [a["id"] for a in found.json()["items"]] == [jam["id"]]
    assert (
        await api.patch(f"{V1}/knowledge/{uuid.uuid4()}", json={"title": "x"})
    ).status_code == 404
    assert (await api.patch(f"{V1}/knowledge/{jam['id']}", json={"nope": 1})).status_code == 422
    consumer = await factories.consumer(sessions)
    as_consumer = await mint(api, "consumer", consumer.id)
    r = await api.patch(f"{V1}/knowledge/{jam['id']}", json={"title": "x"}, headers=as_consumer)
    assert r.status_code == 403


async def test_a_customers_verdicts_count_once_a_day_each(api, sessions):
    jam = await article(api)
    draft = await article(api, published=False)
    ada, bea = await factories.consumer(sessions, "Ada"), await factories.consumer(sessions, "Bea")
    as_ada, as_bea = await mint(api, "consumer", ada.id), await mint(api, "consumer", bea.id)
    url = f"{V1}/knowledge/{jam['id']}"
    for _ in range(3):  # a double (triple) click
        r = await api.post(f"{url}/deflections", params={"q": "paper stuck"}, headers=as_ada)
        assert r.json() == {"id": jam["id"], "deflections": 1}
    r = await api.post(f"{url}/deflections", headers=as_bea)
    assert r.json()["deflections"] == 2
    r = await api.post(f"{url}/not-helpful", headers=as_bea)
    assert r.json() == {"id": jam["id"], "not_helpful": 1}
    assert (await api.post(f"{url}/not-helpful", headers=as_bea)).json()["not_helpful"] == 1
    hidden = f"{V1}/knowledge/{draft['id']}/deflections"
    assert (await api.post(hidden, headers=as_ada)).status_code == 404  # a draft is not visible
    async with sessions() as db:
        from sqlalchemy import select

        rows = (await db.scalars(select(KnowledgeFeedback).order_by(KnowledgeFeedback.at))).all()
    assert [(r.verdict, r.customer_id) for r in rows] == [
        ("solved", ada.id),
        ("solved", bea.id),
        ("not_helpful", bea.id),
    ]
    assert (rows[0].query, rows[0].article_version) == ("paper stuck", 1)


async def feedback(sessions, article_id, when: datetime, verdict: str = "solved") -> None:
    await factories.add(
        sessions,
        KnowledgeFeedback(
            article_id=article_id,
            verdict=verdict,
            customer_role="contact",
            customer_id=uuid.uuid4(),
            day=when.date(),
            article_version=1,
            at=when,
        ),
    )


async def test_the_deflection_rate_is_deflections_of_deflections_and_portal_cases(api, sessions):
    x = KnowledgeArticle(id=uuid.uuid4(), title="X", body="x", tags=[])
    await factories.add(sessions, x)
    # Week 1: 3 deflections, 1 portal case (and 2 email cases and 2 "not helpful": not counted).
    for when in (at(0, 9), at(2), at(6, 23)):
        await feedback(sessions, x.id, when)
    await feedback(sessions, x.id, at(1), "not_helpful")
    await feedback(sessions, x.id, at(3), "not_helpful")
    await make_case(sessions, channel="portal", created_at=at(1))
    await make_case(sessions, channel="email", created_at=at(1))
    await make_case(sessions, channel="email", created_at=at(4))
    # Week 2: 1 deflection, 3 portal cases.
    await feedback(sessions, x.id, at(8))
    for day in (7, 9, 13):
        await make_case(sessions, channel="portal", created_at=at(day, 12))
    # Before and after the window: counted nowhere.
    await feedback(sessions, x.id, at(-1))
    await make_case(sessions, channel="portal", created_at=at(-2))
    await feedback(sessions, x.id, at(14))

    r = await api.get(f"{V1}/metrics/deflection", params=WINDOW)
    assert r.status_code == 200, r.text
    body = r.json()
    # 4 deflections of 4 + 4 portal cases; week 1: 3 of 3 + 1, week 2: 1 of 1 + 3.
    assert body["total"] == {"count": 4, "of": 8, "rate": 0.5}
    weeks = {w["week"]: (w["count"], w["of"], w["rate"]) for w in body["by_week"]}
    assert weeks == {"2026-10-05": (3, 4, 0.75), "2026-10-12": (1, 4, 0.25)}
    summary = (await api.get(f"{V1}/metrics/summary", params=WINDOW)).json()
    assert summary["deflection"]["total"]["rate"] == 0.5

    supervisor = await mint(api, "supervisor")
    page = await api.get(
        "/console/metrics",
        params={"since": "2026-10-05", "until": "2026-10-18"},  # until inclusive
        headers=supervisor,
    )
    assert page.status_code == 200
    assert 'id="metric-deflection"' in page.text and "50.0%" in page.text
    assert "4 of 8 self-service answers" in page.text


async def test_patch_on_the_search_path_is_405_not_a_bad_id(api):
    r = await api.patch(f"{V1}/knowledge/search", json={"title": "x"})
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    r = await api.patch(f"{V1}/knowledge/not-a-uuid", json={"title": "x"})
    assert r.status_code == 422
