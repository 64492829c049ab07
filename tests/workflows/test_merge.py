"""Merging accounts and contacts with open cases, on a real worker (time-skipping server):
everything moves to the survivor, and each running case's workflow follows it without a
restart: its query, its AccountId search attribute, its next routing and its next SLA."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from models.customers import Account, AccountContact, Asset, Contact
from models.merges import CustomerMerge
from models.people import Agent
from models.service import Entitlement, ServiceContract
from tests import factories as f
from tests.conftest import make_deps, mint, running_worker
from tests.workflows.helpers import described, events, notifications, open_for, row, wait_row
from workflows.case import CaseWorkflow
from workflows.customer_merge import MergeInput
from workflows.merge import CustomerMergeWorkflow
from workflows.routing import DispatchWorkflow
from workflows.types import DispatchInput

V1 = "/api/v1"
H = 3600


@pytest.fixture
async def live(api, sessions, ts_env):
    """The API with a worker. Awaiting a workflow's result (the merge answer does) would let
    the time-skipping server skip ahead, past a case with no timer to stop it: time moves
    here only when a test sleeps."""
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        with ts_env.auto_time_skipping_disabled():
            yield api


async def case_account(client, case) -> str | None:
    return (await client.get_workflow_handle(case.workflow_id).query(CaseWorkflow.state)).account_id


async def search_account(client, case) -> str | None:
    info = await described(client.get_workflow_handle(case.workflow_id))
    payload = info.search_attributes.indexed_fields.get("AccountId")
    return json.loads(payload.data) if payload and payload.data else None


async def wait_for(check, what: str, tries: int = 300):
    import asyncio

    for _ in range(tries):
        if got := await check():
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(what)


async def test_an_account_merge_moves_everything_and_running_cases_follow(live, sessions, ts_env):
    client = ts_env.client
    old = await f.account(sessions, "Acme Old", domains=("acme-old.example",))
    new = await f.account(sessions, "Acme", domains=("acme.example",))
    site = await f.account(sessions, "Acme Old Site", domains=(), parent_id=old.id)
    ada = await f.contact(sessions, old.id, name="Ada", email="ada@acme-old.example")
    # Routing prefers the account team; the breach tells the account manager.
    yuri = await f.agent(sessions, "Yuri", status="away")
    xena = await f.agent(sessions, "Xena", status="away")
    aaron = await f.agent(sessions, "Aaron", status="away")  # on no team; wins ties by name
    mo = await f.agent(sessions, "Mo", status="away")
    max_ = await f.agent(sessions, "Max", status="away")
    await f.team_member(sessions, old.id, yuri.id)
    await f.team_member(sessions, old.id, mo.id, role="account_manager")
    await f.team_member(sessions, new.id, xena.id)
    await f.team_member(sessions, new.id, max_.id, role="account_manager")
    respond = await f.sla_definition(sessions, "Respond", "response", 2 * H, warn_at=[])
    gold = await f.entitlement(sessions, "Gold", (respond.id,), account_id=old.id)
    router = await f.product(sessions)
    asset = await f.add(
        sessions, Asset(id=uuid.uuid4(), product_id=router.id, serial="R1", account_id=old.id)
    )
    contract = await f.add(
        sessions, ServiceContract(id=uuid.uuid4(), name="2026", account_id=old.id)
    )

    cases = [
        await open_for(sessions, client, live.task_queue, ada, subject=f"Down {i}")
        for i in range(2)
    ]
    for case in cases:
        got = await wait_row(sessions, case.id, lambda c: c.state == "open" and c.waiting_since)
        assert (got.account_id, got.entitlement_id) == (old.id, gold.id)
        assert await case_account(client, case) == str(old.id)
        assert await search_account(client, case) == str(old.id)

    r = await live.post(f"{V1}/accounts/{old.id}/merge", json={"into_id": str(new.id)})
    assert r.status_code == 200, r.text
    answer = r.json()
    moved = answer["moved"]
    assert (moved["cases"], moved["assets"], moved["entitlements"]) == (2, 1, 1)
    assert (moved["contracts"], moved["memberships"], moved["account_team"]) == (1, 1, 2)
    assert moved["child_accounts"] == 1 and answer["cases_told"] == 2

    async with sessions() as db:
        for case in cases:
            assert (await row(sessions, case.id)).account_id == new.id
        assert (await db.get(Asset, asset.id)).account_id == new.id
        assert (await db.get(Entitlement, gold.id)).account_id == new.id
        assert (await db.get(ServiceContract, contract.id)).account_id == new.id
        assert (await db.get(Account, site.id)).parent_id == new.id
        merged, kept = await db.get(Account, old.id), await db.get(Account, new.id)
        assert merged.merged_into_id == new.id
        assert kept.domains == ["acme.example", "acme-old.example"]
        link = await db.get(AccountContact, (ada.id, new.id))
        assert link is not None and link.primary
        audit = (await db.scalars(select(CustomerMerge))).one()
        assert (audit.kind, audit.from_id, audit.into_id) == ("account", old.id, new.id)
        assert audit.moved == moved and sorted(audit.workflow_ids) == sorted(
            c.workflow_id for c in cases
        )
    # The running workflows follow: the query and the search attribute name the survivor.
    for case in cases:
        await wait_for(lambda case=case: _equals(case_account(client, case), str(new.id)), "query")
        assert await search_account(client, case) == str(new.id)
        assert "customer_merged" in await events(sessions, case.id)

    # The merged account answers by id with merged_into_id, and left the list.
    one = (await live.get(f"{V1}/accounts/{old.id}")).json()
    assert one["merged_into_id"] == str(new.id)
    listed = {a["id"] for a in (await live.get(f"{V1}/accounts")).json()["items"]}
    assert str(old.id) not in listed and str(new.id) in listed

    # Next routing: the survivor's team comes first (on the old account, whose team is away,
    # Aaron would win the tie by name).
    async with sessions() as db, db.begin():
        await db.execute(
            update(Agent).where(Agent.id.in_([aaron.id, xena.id])).values(status="available")
        )
    await client.execute_workflow(
        DispatchWorkflow.run,
        DispatchInput(f"test-{uuid.uuid4()}"),
        id=f"dispatch-{uuid.uuid4()}",
        task_queue=live.task_queue,
    )
    for case in cases:
        got = await wait_row(sessions, case.id, lambda c: c.assigned_agent_id is not None)
        assert got.assigned_agent_id == xena.id

    # Next SLA: the breach tells the survivor's account manager, not the merged one's.
    await ts_env.sleep(timedelta(hours=3))
    for case in cases:
        await wait_row(sessions, case.id, lambda c: c.breached)
        sent = {(n.template, n.recipient) for n in await notifications(sessions, case.id)}
        assert ("sla_breached", "max@casework.test") in sent
        assert ("sla_breached", "mo@casework.test") not in sent

    # New mail from the merged account's domain lands on the survivor.
    r = await live.post(
        f"{V1}/cases",
        json={"subject": "Hello", "channel": "email", "email": "new.person@acme-old.example"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["account_id"] == str(new.id)


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected


async def test_a_contact_merge_moves_cases_entitlements_memberships_and_tokens(
    live, sessions, ts_env
):
    client = ts_env.client
    acme = await f.account(sessions, "Acme", domains=("acme.example",))
    beta = await f.account(sessions, "Beta", domains=("beta.example",))
    dup = await f.contact(sessions, acme.id, name="Ada L", email="ada.l@acme.example")
    ada = await f.contact(sessions, beta.id, name="Ada Lovelace", email="ada@beta.example")
    async with sessions() as db, db.begin():
        (await db.get(Contact, dup.id)).phone = "+44 20 7946 0958"
    personal = await f.entitlement(sessions, "Personal", (), contact_id=dup.id)
    await f.agent(sessions, "Ann", status="away")
    case = await open_for(sessions, client, live.task_queue, dup)
    await wait_row(sessions, case.id, lambda c: c.state == "open")
    handle = client.get_workflow_handle(case.workflow_id)
    assert (await handle.query(CaseWorkflow.state)).contact_id == str(dup.id)
    portal = await mint(live, "contact", dup.id)  # the person's portal token, minted as dup

    r = await live.post(f"{V1}/contacts/{dup.id}/merge", json={"into_id": str(ada.id)})
    assert r.status_code == 200, r.text
    moved = r.json()["moved"]
    assert (moved["cases"], moved["entitlements"], moved["memberships"]) == (1, 1, 1)
    assert (moved["assets"], moved["contracts"], moved["tokens"]) == (0, 0, 1)

    got = await row(sessions, case.id)
    assert (got.contact_id, got.account_id) == (ada.id, acme.id)  # the case's account stays
    await wait_for(
        lambda: _equals(_contact_of(handle), str(ada.id)), "the workflow's contact follows"
    )
    async with sessions() as db:
        assert (await db.get(Entitlement, personal.id)).contact_id == ada.id
        kept = await db.get(Contact, ada.id)
        assert kept.phone == "+44 20 7946 0958"  # the survivor had none: it takes the other's
        links = (
            await db.execute(
                select(AccountContact.account_id, AccountContact.primary).where(
                    AccountContact.contact_id == ada.id
                )
            )
        ).all()
        assert sorted(links) == sorted([(beta.id, True), (acme.id, False)])  # one primary
    one = (await live.get(f"{V1}/contacts/{dup.id}")).json()
    assert one["merged_into_id"] == str(ada.id)
    listed = {c["id"] for c in (await live.get(f"{V1}/contacts")).json()["items"]}
    assert listed == {str(ada.id)}
    # the person's portal token acts as the survivor: their case is still theirs
    mine = await live.get(f"{V1}/cases/{case.id}", headers=portal)
    assert mine.status_code == 200, mine.text
    # mail from the merged address reaches the survivor
    r = await live.post(
        f"{V1}/cases", json={"subject": "Again", "channel": "email", "email": "ada.l@acme.example"}
    )
    assert r.json()["contact_id"] == str(ada.id)
    # merging back is a cycle: refused
    back = await live.post(f"{V1}/contacts/{ada.id}/merge", json={"into_id": str(dup.id)})
    assert back.status_code == 409


async def _contact_of(handle) -> str | None:
    return (await handle.query(CaseWorkflow.state)).contact_id


async def test_a_retried_merge_step_answers_from_its_audit_row(live, sessions, ts_env):
    """The merge is a workflow: its step is retried after a crash, and moves nothing twice."""
    old = await f.account(sessions, "Old")
    new = await f.account(sessions, "New")
    await f.entitlement(sessions, "E", (), account_id=old.id)
    arg = MergeInput(str(uuid.uuid4()), "account", str(old.id), str(new.id))
    first = await ts_env.client.execute_workflow(
        CustomerMergeWorkflow.run, arg, id=f"m-{uuid.uuid4()}", task_queue=live.task_queue
    )
    again = await ts_env.client.execute_workflow(
        CustomerMergeWorkflow.run, arg, id=f"m-{uuid.uuid4()}", task_queue=live.task_queue
    )
    assert first.moved == again.moved and first.moved["entitlements"] == 1
    async with sessions() as db:
        assert await db.scalar(text("SELECT count(*) FROM merges")) == 1


async def test_a_merge_that_loses_its_race_moves_nothing(live, sessions, ts_env):
    """The step checks again under its locks: a record merged since the API looked is
    refused (409), and the transaction leaves every row as it was."""
    a = await f.account(sessions, "A")
    b = await f.account(sessions, "B")
    c = await f.account(sessions, "C")
    ent = await f.entitlement(sessions, "E", (), account_id=a.id)
    async with sessions() as db, db.begin():
        await db.execute(update(Account).where(Account.id == b.id).values(merged_into_id=c.id))
    arg = MergeInput(str(uuid.uuid4()), "account", str(a.id), str(b.id))
    from temporalio.client import WorkflowFailureError

    with pytest.raises(WorkflowFailureError) as err:
        await ts_env.client.execute_workflow(
            CustomerMergeWorkflow.run, arg, id=f"m-{uuid.uuid4()}", task_queue=live.task_queue
        )
    from api.services.identity import refusal

    assert refusal(err.value).status == 409
    async with sessions() as db:
        assert (await db.get(Entitlement, ent.id)).account_id == a.id
        assert (await db.get(Account, a.id)).merged_into_id is None
        assert await db.scalar(text("SELECT count(*) FROM merges")) == 0
