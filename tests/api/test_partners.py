"""Partners: assign-partner on a running case, and a partner's users, who see and work
exactly the cases assigned to their account (the API and their pages)."""

import httpx
import pytest
from sqlalchemy import update

from models.customers import Account
from tests import factories
from tests.api.test_cases import (  # noqa: F401  (live: the app with a worker)
    act,
    assert_422,
    assert_problem,
    listed,
    live,
    open_case,
    settle,
)
from tests.conftest import mint

V1 = "/api/v1"


@pytest.fixture
async def world(sessions):
    acme = await factories.account(sessions, "Acme", domains=("acme.example",))
    ada = await factories.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    fixit = await factories.account(sessions, "FixIt Ltd", domains=())
    both = await factories.account(sessions, "Both Corp", domains=())
    async with sessions() as db, db.begin():
        await db.execute(update(Account).where(Account.id == fixit.id).values(type="partner"))
        await db.execute(update(Account).where(Account.id == both.id).values(type="both"))
    await factories.agent(sessions, "Ann")
    return {"acme": acme, "ada": ada, "fixit": fixit, "both": both}


async def test_assign_partner_records_the_partner_on_the_case(live, world):  # noqa: F811
    case = await settle(live, (await open_case(live, contact_id=str(world["ada"].id)))["id"])
    assert case["partner_account_id"] is None
    for bad in (world["acme"].id, world["ada"].id):  # a customer account; not an account
        assert_422(await act(live, case["id"], "assign-partner", partner_account_id=str(bad)))
    assert_422(await act(live, case["id"], "assign-partner"))
    supervisor = await mint(live, "supervisor")
    fixit = str(world["fixit"].id)
    r = await act(live, case["id"], "assign-partner", supervisor, partner_account_id=fixit)
    assert r.status_code == 200, r.text
    assert r.json()["partner_account_id"] == fixit
    assert (await live.get(f"{V1}/cases/{case['id']}")).json()["partner_account_id"] == fixit
    assert_problem(await act(live, case["id"], "assign-partner", partner_account_id=fixit), 409)
    events = (await live.get(f"{V1}/cases/{case['id']}/timeline")).json()["items"]
    event = next(e for e in events if e["kind"] == "assign_partner")
    assert (event["public"], event["actor_role"]) == (False, "supervisor")
    assert event["data"]["partner_account_id"] == fixit
    # A customer never sees whom the case went to.
    customer = await mint(live, "contact", world["ada"].id)
    kinds = [
        e["kind"]
        for e in (await live.get(f"{V1}/cases/{case['id']}/timeline", headers=customer)).json()[
            "items"
        ]
    ]
    assert "assign_partner" not in kinds
    # Reassigned to an account of type both.
    both = str(world["both"].id)
    r = await act(live, case["id"], "assign-partner", partner_account_id=both)
    assert r.status_code == 200 and r.json()["partner_account_id"] == both


async def test_a_partner_sees_and_works_only_its_cases(live, world):  # noqa: F811
    ada = str(world["ada"].id)
    mine = await settle(live, (await open_case(live, contact_id=ada, subject="Mine"))["id"])
    other = await settle(live, (await open_case(live, contact_id=ada, subject="Other"))["id"])
    fixit, both = str(world["fixit"].id), str(world["both"].id)
    assert (await act(live, mine["id"], "assign-partner", partner_account_id=fixit)).is_success
    assert (await act(live, other["id"], "assign-partner", partner_account_id=both)).is_success
    partner = await mint(live, "partner", world["fixit"].id)
    assert await listed(live, partner) == [mine["id"]]
    assert await listed(live, partner, state="open") == [mine["id"]]
    assert (await live.get(f"{V1}/cases/{other['id']}", headers=partner)).status_code == 404
    r = await act(live, mine["id"], "respond", partner, body="A technician comes at 10.")
    assert r.status_code == 200, r.text
    assert_problem(await act(live, other["id"], "respond", partner, body="x"), 404)
    assert_problem(await act(live, mine["id"], "resolve", partner, resolution="done"), 403)
    assert_problem(
        await act(live, mine["id"], "assign-partner", partner, partner_account_id=both), 403
    )
    # Their pages: the assigned list and the case; another case is the 404 page.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=live.app), base_url="http://casework.test"
    ) as browser:
        r = await browser.post("/login", data={"token": partner["Authorization"].split()[1]})
        assert r.status_code == 303 and r.headers["location"] == "/partner"
        page = await browser.get("/partner")
        assert page.status_code == 200 and "FixIt Ltd · partner" in page.text
        assert mine["number"] in page.text and other["number"] not in page.text
        page = await browser.get(f"/partner/cases/{mine['id']}")
        assert page.status_code == 200 and "A technician comes at 10." in page.text
        assert (await browser.get(f"/partner/cases/{other['id']}")).status_code == 404
        assert (await browser.get("/portal")).status_code == 403
        assert (await browser.get("/console")).status_code == 403
        r = await browser.post(
            f"/partner/cases/{mine['id']}/actions/note", data={"body": "parts ordered"}
        )
        assert r.status_code == 303
        events = (await live.get(f"{V1}/cases/{mine['id']}/timeline")).json()["items"]
        note = next(e for e in events if e["kind"] == "note")
        assert (note["body"], note["actor_role"], note["actor_id"]) == (
            "parts ordered",
            "partner",
            fixit,
        )
