"""POST /cases is one update-with-start: its 201 is the case as intake made it, and an
Idempotency-Key answers the case it opened instead of opening another."""

import asyncio
from datetime import datetime

from sqlalchemy import func, select

from models.cases import Case
from tests import factories
from tests.api.test_cases import V1, acme, live  # noqa: F401 (fixtures)


async def test_the_201_of_a_case_opened_by_email_is_what_intake_made(live, sessions, acme):  # noqa: F811
    response = await factories.sla_definition(sessions, "Respond", "response", 4 * 3600)
    fix = await factories.sla_definition(sessions, "Fix", "resolution", 24 * 3600)
    gold = await factories.entitlement(
        sessions, "Gold", (response.id, fix.id), account_id=acme["account"].id
    )
    r = await live.post(
        f"{V1}/cases",
        json={"subject": "Printer jams", "channel": "email", "email": "ada@acme.example"},
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["state"] == "open"  # not "new": intake has run
    assert case["contact_id"] == str(acme["ada"].id)
    assert case["account_id"] == str(acme["account"].id)
    assert case["entitlement_id"] == str(gold.id)
    assert case["assigned_agent_id"] == str(acme["ann"].id)
    dues = {c["kind"]: datetime.fromisoformat(c["due_at"]) for c in case["sla"]}
    created = datetime.fromisoformat(case["created_at"])
    assert abs((dues["response"] - created).total_seconds() - 4 * 3600) < 2
    assert abs((dues["resolution"] - created).total_seconds() - 24 * 3600) < 2


async def test_with_nobody_to_take_it_the_201_names_the_queue(live, sessions):  # noqa: F811
    account = await factories.account(sessions, "Solo")
    bob = await factories.contact(sessions, account.id, name="Bob")
    r = await live.post(
        f"{V1}/cases", json={"subject": "Help", "channel": "phone", "contact_id": str(bob.id)}
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["state"], case["assigned_agent_id"], case["queue"]) == ("open", None, "support")


async def test_the_same_idempotency_key_answers_the_first_case(live, sessions, acme):  # noqa: F811
    body = {"subject": "Printer jams", "channel": "api", "contact_id": str(acme["ada"].id)}
    key = {"Idempotency-Key": "ticket-4711"}
    first = await live.post(f"{V1}/cases", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = await asyncio.gather(
        *(live.post(f"{V1}/cases", json=body, headers=key) for _ in range(5))
    )
    assert {r.status_code for r in again} == {200}
    assert {r.json()["id"] for r in again} == {first.json()["id"]}
    other = await live.post(f"{V1}/cases", json=body, headers={"Idempotency-Key": "ticket-4712"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    async with sessions() as db:
        assert (await db.execute(select(func.count()).select_from(Case))).scalar() == 2


async def test_a_key_is_the_callers_own(live, sessions, acme):  # noqa: F811
    """Two callers that happen to use the same key open two cases."""
    from tests.conftest import mint

    body = {"subject": "Printer jams", "channel": "api", "contact_id": str(acme["ada"].id)}
    key = {"Idempotency-Key": "same"}
    mine = await live.post(f"{V1}/cases", json=body, headers=key)
    theirs = await live.post(
        f"{V1}/cases", json=body, headers=key | await mint(live, "integration")
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


async def test_a_case_intake_cannot_open_answers_422_and_leaves_nothing(live, sessions, acme):  # noqa: F811
    """Intake fails for good (here: a product that does not exist, which the API's own check
    would have caught): the workflow ends without a row and the caller gets a 422."""
    import uuid

    from api.errors import Problem
    from api.services.intake import open_case

    fields = {"subject": "Ghost", "channel": "api", "contact_id": str(acme["ada"].id)}
    fields["product_id"] = str(uuid.uuid4())
    client = live.app.state.temporal.client
    try:
        await open_case(sessions=sessions, client=client, task_queue=live.task_queue, fields=fields)
    except Problem as err:
        assert err.status == 422 and "could not be opened" in err.detail
    else:
        raise AssertionError("opened a case with no such product")
    async with sessions() as db:
        assert (await db.execute(select(func.count()).select_from(Case))).scalar() == 0
