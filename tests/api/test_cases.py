"""The case API over HTTP on the real app, with a worker running the case workflows."""

import asyncio
import re
import uuid

import pytest
from pydantic import TypeAdapter

from api.schemas.cases import CasePage, CaseRead
from models.customers import Asset, Contact
from tests import factories
from tests.conftest import make_deps, mint, running_worker

V1 = "/api/v1"
PROBLEM = "application/problem+json"
NO_TOKEN = {"Authorization": ""}


@pytest.fixture
async def live(api, sessions, ts_env):
    """The API with a worker on its task queue, so opened cases run."""
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        yield api


@pytest.fixture
async def acme(sessions):
    """An account with a contact, an available agent and tokens for them."""
    account = await factories.account(sessions, "Acme", domains=("acme.example",))
    ada = await factories.contact(sessions, account.id, name="Ada", email="ada@acme.example")
    ann = await factories.agent(sessions, "Ann")
    return {"account": account, "ada": ada, "ann": ann}


async def open_case(api, headers=None, **body) -> dict:
    body = {"subject": "Router down", "channel": "email", **body}
    r = await api.post(f"{V1}/cases", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def settle(api, case_id, *, assigned: bool = False, timeout: float = 15) -> dict:
    """Poll the case (as admin) until intake has run, and routing too when `assigned`."""
    view = None
    for _ in range(int(timeout / 0.05)):
        r = await api.get(f"{V1}/cases/{case_id}")
        assert r.status_code == 200, r.text
        view = r.json()
        if view["state"] != "new" and (view["assigned_agent_id"] or not assigned):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"the case never settled: {view}")


async def act(api, case_id, action: str, headers=None, **body):
    return await api.post(f"{V1}/cases/{case_id}/actions/{action}", json=body, headers=headers)


async def kinds(api, case_id, headers=None) -> list[str]:
    r = await api.get(f"{V1}/cases/{case_id}/timeline", headers=headers)
    assert r.status_code == 200, r.text
    return [e["kind"] for e in r.json()["items"]]


async def listed(api, headers=None, **params) -> list[str]:
    r = await api.get(f"{V1}/cases", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["status"] == status
    return problem


def assert_422(r) -> None:
    problem = assert_problem(r, 422)
    assert isinstance(problem["errors"], list) and problem["errors"], problem


# ----- opening ------------------------------------------------------------------------------


async def test_a_new_case_has_a_number_a_workflow_and_an_early_state(live, acme):
    created = await open_case(live, contact_id=str(acme["ada"].id))
    assert re.fullmatch(r"CS\d{7}", created["number"])
    assert created["workflow_id"] == f"case-{created['number']}"
    assert created["state"] in ("new", "open")
    assert created["contact_id"] == str(acme["ada"].id)


async def test_opening_by_contact_id_links_the_contacts_account(live, acme):
    created = await open_case(live, contact_id=str(acme["ada"].id), channel="phone")
    view = await settle(live, created["id"])
    assert view["state"] == "open"
    assert view["contact_id"] == str(acme["ada"].id)
    assert view["account_id"] == str(acme["account"].id)
    assert view["consumer_id"] is None
    assert view["channel"] == "phone"


async def test_opening_by_an_unknown_email_of_an_account_domain_creates_its_contact(live, acme):
    created = await open_case(live, email="New.Person@Acme.Example", name="New Person")
    view = await settle(live, created["id"])
    assert view["account_id"] == str(acme["account"].id)
    assert view["contact_id"] not in (None, str(acme["ada"].id))
    assert view["consumer_id"] is None
    r = await live.get(f"{V1}/contacts/{view['contact_id']}")
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "new.person@acme.example"
    assert r.json()["account_ids"] == [str(acme["account"].id)]


async def test_opening_by_an_email_matching_nothing_creates_a_consumer(live, acme):
    created = await open_case(live, email="bea@nowhere.example", name="Bea")
    view = await settle(live, created["id"])
    assert view["consumer_id"] is not None
    assert (view["contact_id"], view["account_id"]) == (None, None)
    r = await live.get(f"{V1}/consumers/{view['consumer_id']}")
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["name"]) == ("bea@nowhere.example", "Bea")


async def test_opening_by_a_known_contacts_email_links_that_contact(live, acme):
    created = await open_case(live, email="ADA@acme.example", channel="email")
    view = await settle(live, created["id"])
    assert (view["contact_id"], view["account_id"]) == (
        str(acme["ada"].id),
        str(acme["account"].id),
    )


BAD_BODIES = {
    "unknown field": lambda w: {"contact_id": w["contact"], "colour": "red"},
    "missing subject": lambda w: {"contact_id": w["contact"], "subject": None},
    "bad channel": lambda w: {"contact_id": w["contact"], "channel": "fax"},
    "priority 9": lambda w: {"contact_id": w["contact"], "priority": 9},
    "no requester": lambda w: {},
    "two requesters": lambda w: {"contact_id": w["contact"], "consumer_id": w["consumer"]},
    "contact and email": lambda w: {"contact_id": w["contact"], "email": "x@acme.example"},
    "unknown contact": lambda w: {"contact_id": str(uuid.uuid4())},
    "unknown consumer": lambda w: {"consumer_id": str(uuid.uuid4())},
    "foreign account": lambda w: {"contact_id": w["contact"], "account_id": w["other_account"]},
    "newline in subject": lambda w: {"contact_id": w["contact"], "subject": "Router\ndown"},
    "control char in subject": lambda w: {"contact_id": w["contact"], "subject": "Router\x07"},
    "description too long": lambda w: {"contact_id": w["contact"], "description": "x" * 20_001},
    "bad email": lambda w: {"email": "not-an-email"},
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_a_bad_case_body_is_a_422_problem(api, sessions, case):
    account = await factories.account(sessions)
    other = await factories.account(sessions, "Other", domains=())
    contact = await factories.contact(sessions, account.id)
    consumer = await factories.consumer(sessions)
    world = {
        "contact": str(contact.id),
        "consumer": str(consumer.id),
        "other_account": str(other.id),
    }
    body = {"subject": "Router down", "channel": "email", **BAD_BODIES[case](world)}
    body = {k: v for k, v in body.items() if v is not None}
    assert_422(await api.post(f"{V1}/cases", json=body))
    assert await listed(api) == []  # nothing was opened


@pytest.mark.parametrize(
    "internal", [{"priority": 1}, {"required_skills": ["networking"]}, {"queue": "vip"}]
)
async def test_customers_cannot_set_internal_fields(api, acme, internal):
    as_ada = await mint(api, "contact", acme["ada"].id)
    r = await api.post(
        f"{V1}/cases",
        json={"subject": "Router down", "channel": "portal", **internal},
        headers=as_ada,
    )
    assert_422(r)


async def test_a_contact_can_only_open_cases_for_themselves(live, sessions, acme):
    bob = await factories.contact(sessions, acme["account"].id, name="Bob")
    as_ada = await mint(live, "contact", acme["ada"].id)
    created = await open_case(live, as_ada, channel="portal", contact_id=str(bob.id))
    assert created["contact_id"] == str(acme["ada"].id)
    # Seen at once (its account is known before intake runs), and stays Ada's after intake.
    r = await live.get(f"{V1}/cases/{created['id']}", headers=as_ada)
    assert r.status_code == 200, r.text
    view = await settle(live, created["id"])
    assert (view["contact_id"], view["account_id"]) == (
        str(acme["ada"].id),
        str(acme["account"].id),
    )
    other = await factories.account(sessions, "Other", domains=())
    r = await live.post(
        f"{V1}/cases",
        json={"subject": "X", "channel": "portal", "account_id": str(other.id)},
        headers=as_ada,
    )
    assert_422(r)


async def test_a_contact_without_an_account_sees_their_own_case(live, sessions):
    loner = await factories.add(
        sessions, Contact(id=uuid.uuid4(), name="Lone", email="lone@solo.example")
    )
    as_loner = await mint(live, "contact", loner.id)
    created = await open_case(live, as_loner, channel="portal")
    view = await settle(live, created["id"])
    assert (view["contact_id"], view["account_id"]) == (str(loner.id), None)
    r = await live.get(f"{V1}/cases/{created['id']}", headers=as_loner)
    assert r.status_code == 200, r.text
    assert await listed(live, as_loner) == [created["id"]]
    assert await kinds(live, created["id"], as_loner)


async def test_a_customer_cannot_name_another_customers_asset(live, sessions, acme):
    router = await factories.product(sessions)
    globex = await factories.account(sessions, "Globex", domains=())
    theirs = await factories.add(
        sessions, Asset(id=uuid.uuid4(), product_id=router.id, serial="G1", account_id=globex.id)
    )
    mine = await factories.add(
        sessions,
        Asset(id=uuid.uuid4(), product_id=router.id, serial="A1", account_id=acme["account"].id),
    )
    as_ada = await mint(live, "contact", acme["ada"].id)
    r = await live.post(
        f"{V1}/cases",
        json={"subject": "Broken", "channel": "portal", "asset_id": str(theirs.id)},
        headers=as_ada,
    )
    assert_422(r)
    created = await open_case(live, as_ada, channel="portal", asset_id=str(mine.id))
    assert (created["asset_id"], created["product_id"]) == (str(mine.id), str(router.id))


async def test_a_consumer_opens_cases_for_themselves(live, sessions, acme):
    bea = await factories.consumer(sessions)
    as_bea = await mint(live, "consumer", bea.id)
    created = await open_case(live, as_bea, channel="portal", contact_id=str(acme["ada"].id))
    assert (created["consumer_id"], created["contact_id"]) == (str(bea.id), None)
    view = await settle(live, created["id"])
    assert (view["consumer_id"], view["contact_id"], view["account_id"]) == (
        str(bea.id),
        None,
        None,
    )


# ----- actions ------------------------------------------------------------------------------


async def test_respond_answers_with_the_new_case_view(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ann = await mint(live, "agent", acme["ann"].id)
    r = await act(live, case["id"], "respond", as_ann, body="Have you tried turning it off?")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == case["id"] and r.json()["state"] == "open"
    assert "respond" in await kinds(live, case["id"])


async def test_a_forbidden_action_is_a_409_and_leaves_no_trace(live, acme):
    opened = await open_case(live, contact_id=str(acme["ada"].id))
    case = await settle(live, opened["id"], assigned=True)  # intake and routing both done
    as_ada = await mint(live, "contact", acme["ada"].id)
    before = await kinds(live, case["id"])
    assert_problem(await act(live, case["id"], "accept", as_ada), 409)
    assert await kinds(live, case["id"]) == before
    assert (await settle(live, case["id"]))["state"] == "open"


async def test_a_missing_or_bad_action_body_is_422(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ann = await mint(live, "agent", acme["ann"].id)
    assert_422(await act(live, case["id"], "resolve", as_ann))
    assert_422(await act(live, case["id"], "resolve", as_ann, body="fixed"))
    assert_422(await act(live, case["id"], "respond", as_ann, body="x" * 20_001))
    assert_422(await act(live, case["id"], "respond", as_ann, body="hi", colour="red"))
    assert_422(await act(live, case["id"], "change-priority", as_ann, priority=9))
    assert_422(await act(live, case["id"], "assign", as_ann, agent_id=str(uuid.uuid4())))
    assert (await settle(live, case["id"]))["state"] == "open"


async def test_an_unknown_action_is_404(live, acme):
    case = await open_case(live, contact_id=str(acme["ada"].id))
    assert_problem(await act(live, case["id"], "teleport"), 404)


async def test_actions_on_a_closed_case_are_409(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ann = await mint(live, "agent", acme["ann"].id)
    as_ada = await mint(live, "contact", acme["ada"].id)
    r = await act(live, case["id"], "resolve", as_ann, resolution="Replaced the router")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "resolved" and r.json()["resolution"] == "Replaced the router"
    r = await act(live, case["id"], "accept", as_ada)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed" and r.json()["closed_at"]
    assert_problem(await act(live, case["id"], "accept", as_ada), 409)
    assert_problem(await act(live, case["id"], "respond", as_ann, body="hello?"), 409)


async def test_roles_that_may_not_take_an_action_are_403(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ann = await mint(live, "agent", acme["ann"].id)
    as_ada = await mint(live, "contact", acme["ada"].id)
    assert_problem(await act(live, case["id"], "resolve", as_ada, resolution="done"), 403)
    assert_problem(await act(live, case["id"], "note", as_ada, body="psst"), 403)
    assert_problem(await act(live, case["id"], "accept", as_ann), 403)
    assert (await settle(live, case["id"]))["state"] == "open"


async def test_an_agent_assigns_a_case_to_another_agent(live, sessions, acme):
    case = await settle(
        live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"], assigned=True
    )
    assert case["assigned_agent_id"] == str(acme["ann"].id)
    bob = await factories.agent(sessions, "Bob")
    as_ann = await mint(live, "agent", acme["ann"].id)
    r = await act(live, case["id"], "assign", as_ann, agent_id=str(bob.id))
    assert r.status_code == 200, r.text
    assert r.json()["assigned_agent_id"] == str(bob.id)


# ----- visibility ---------------------------------------------------------------------------


async def test_a_contact_does_not_see_another_accounts_case(live, sessions, acme):
    globex = await factories.account(sessions, "Globex", domains=("globex.example",))
    gus = await factories.contact(sessions, globex.id, name="Gus")
    theirs = await settle(live, (await open_case(live, contact_id=str(gus.id)))["id"])
    ours = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ada = await mint(live, "contact", acme["ada"].id)
    path = f"{V1}/cases/{theirs['id']}"
    assert_problem(await live.get(path, headers=as_ada), 404)
    assert_problem(await live.get(f"{path}/timeline", headers=as_ada), 404)
    assert_problem(await act(live, theirs["id"], "customer-reply", as_ada, body="hi"), 404)
    assert_problem(await act(live, theirs["id"], "accept", as_ada), 404)
    assert await listed(live, as_ada) == [ours["id"]]
    assert await listed(live, as_ada, account_id=str(globex.id)) == []


async def test_a_parent_accounts_contact_sees_its_child_accounts_cases(live, sessions):
    group = await factories.account(sessions, "Acme Group", domains=())
    site = await factories.account(sessions, "Acme Oslo", domains=(), parent_id=group.id)
    boss = await factories.contact(sessions, group.id, name="Boss")
    local = await factories.contact(sessions, site.id, name="Local")
    site_case = await settle(live, (await open_case(live, contact_id=str(local.id)))["id"])
    group_case = await settle(live, (await open_case(live, contact_id=str(boss.id)))["id"])
    as_boss = await mint(live, "contact", boss.id)
    as_local = await mint(live, "contact", local.id)
    r = await live.get(f"{V1}/cases/{site_case['id']}", headers=as_boss)
    assert r.status_code == 200, r.text
    assert set(await listed(live, as_boss)) == {site_case["id"], group_case["id"]}
    assert_problem(await live.get(f"{V1}/cases/{group_case['id']}", headers=as_local), 404)
    assert await listed(live, as_local) == [site_case["id"]]


async def test_a_consumer_sees_only_their_own_cases(live, sessions):
    bea = await factories.consumer(sessions, "Bea")
    cid = await factories.consumer(sessions, "Cid")
    beas = await settle(live, (await open_case(live, consumer_id=str(bea.id)))["id"])
    cids = await settle(live, (await open_case(live, consumer_id=str(cid.id)))["id"])
    as_bea = await mint(live, "consumer", bea.id)
    assert await listed(live, as_bea) == [beas["id"]]
    assert (await live.get(f"{V1}/cases/{beas['id']}", headers=as_bea)).status_code == 200
    assert_problem(await live.get(f"{V1}/cases/{cids['id']}", headers=as_bea), 404)
    assert_problem(await live.get(f"{V1}/cases/{cids['id']}/timeline", headers=as_bea), 404)


async def test_customers_do_not_see_internal_notes(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ann = await mint(live, "agent", acme["ann"].id)
    as_ada = await mint(live, "contact", acme["ada"].id)
    r = await act(live, case["id"], "note", as_ann, body="customer seems annoyed")
    assert r.status_code == 200, r.text
    r = await act(live, case["id"], "respond", as_ann, body="On it")
    assert r.status_code == 200, r.text
    staff = (await live.get(f"{V1}/cases/{case['id']}/timeline", headers=as_ann)).json()
    assert "note" in [e["kind"] for e in staff["items"]]
    customer = (await live.get(f"{V1}/cases/{case['id']}/timeline", headers=as_ada)).json()
    seen = [e["kind"] for e in customer["items"]]
    assert "note" not in seen and "respond" in seen
    assert all(e["public"] for e in customer["items"])
    assert "customer seems annoyed" not in str(customer)


async def test_customers_may_not_read_notifications(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ada = await mint(live, "contact", acme["ada"].id)
    r = await live.get(f"{V1}/cases/{case['id']}/notifications", headers=as_ada)
    assert_problem(r, 403)


# ----- lists, timeline, notifications -------------------------------------------------------


async def test_the_case_list_filters(live, sessions, acme):
    globex = await factories.account(sessions, "Globex", domains=())
    gus = await factories.contact(sessions, globex.id, name="Gus")
    bob = await factories.agent(sessions, "Bob", status="away")  # routing passes him by
    ada = str(acme["ada"].id)
    first = await settle(live, (await open_case(live, contact_id=ada))["id"], assigned=True)
    urgent = await open_case(live, contact_id=str(gus.id), priority=1)
    urgent = await settle(live, urgent["id"], assigned=True)
    billing = await open_case(live, contact_id=str(gus.id), queue="billing")
    billing = await settle(live, billing["id"], assigned=True)
    as_ann = await mint(live, "agent", acme["ann"].id)
    r = await act(live, billing["id"], "assign", as_ann, agent_id=str(bob.id))
    assert r.status_code == 200, r.text
    r = await act(live, first["id"], "resolve", as_ann, resolution="done")
    assert r.status_code == 200, r.text
    everything = {first["id"], urgent["id"], billing["id"]}

    assert set(await listed(live)) == everything
    assert await listed(live, state="resolved") == [first["id"]]
    assert await listed(live, state="open") == [urgent["id"], billing["id"]]
    assert await listed(live, priority=1) == [urgent["id"]]
    assert await listed(live, priority=3) == [first["id"], billing["id"]]
    assert await listed(live, queue="billing") == [billing["id"]]
    assert await listed(live, queue="support") == [first["id"], urgent["id"]]
    assert await listed(live, account_id=str(acme["account"].id)) == [first["id"]]
    assert await listed(live, account_id=str(globex.id)) == [urgent["id"], billing["id"]]
    assert set(await listed(live, breached="false")) == everything
    assert await listed(live, breached="true") == []
    assert await listed(live, assigned_agent_id=str(bob.id)) == [billing["id"]]
    assert await listed(live, assigned_agent_id=str(acme["ann"].id)) == [
        first["id"],
        urgent["id"],
    ]
    assert await listed(live, state="open", account_id=str(globex.id), priority=1) == [urgent["id"]]
    for bad in ({"state": "sleeping"}, {"priority": 9}, {"assigned_agent_id": "x"}):
        assert_422(await live.get(f"{V1}/cases", params=bad))


async def test_the_case_list_pages_with_a_cursor(live, acme):
    opened = [
        (await open_case(live, contact_id=str(acme["ada"].id), subject=f"Case {i}"))["id"]
        for i in range(5)
    ]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await live.get(f"{V1}/cases", params=params)
        assert r.status_code == 200, r.text
        got = r.json()
        assert len(got["items"]) <= 2
        seen += [c["id"] for c in got["items"]]
        pages += 1
        cursor = got["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == opened  # oldest first, no duplicates, none missing
    assert_422(await live.get(f"{V1}/cases", params={"cursor": "garbage"}))


async def test_case_views_are_answered_exactly_as_the_schema_serializes_them(live, acme):
    """Case views are built to CaseRead and answered without validating them again: each
    answer must be byte for byte what the schema makes of it, SLA clocks included."""
    office = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    r = await live.post(
        f"{V1}/schedules", json={"name": "Office", "timezone": "Europe/Berlin", "hours": office}
    )
    assert r.status_code == 201, r.text
    definitions = []
    for kind, schedule_id in (("response", r.json()["id"]), ("resolution", None)):
        body = {"name": kind, "kind": kind, "duration_seconds": 8 * 3600}
        r = await live.post(f"{V1}/sla-definitions", json=body | {"schedule_id": schedule_id})
        assert r.status_code == 201, r.text
        definitions.append(r.json()["id"])
    body = {
        "name": "Gold",
        "account_id": str(acme["account"].id),
        "sla_definition_ids": definitions,
    }
    assert (await live.post(f"{V1}/entitlements", json=body)).status_code == 201
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    assert {c["kind"] for c in case["sla"]} == {"response", "resolution"}
    as_ann = await mint(live, "agent", acme["ann"].id)
    answers = [
        (CaseRead, await live.get(f"{V1}/cases/{case['id']}")),
        (CasePage, await live.get(f"{V1}/cases", params={"state": "open"})),
        (CasePage, await live.get(f"{V1}/sla/at-risk", params={"within_seconds": 9 * 86400})),
        (CaseRead, await act(live, case["id"], "note", as_ann, body="Checked the logs")),
    ]
    for schema, r in answers:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        adapter = TypeAdapter(schema)
        assert r.content == adapter.dump_json(adapter.validate_json(r.content))
    for _, page in answers[1:3]:
        assert [c["id"] for c in page.json()["items"]] == [case["id"]]


async def test_the_timeline_lists_events_oldest_first(live, acme):
    case = await settle(
        live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"], assigned=True
    )
    as_ann = await mint(live, "agent", acme["ann"].id)
    for action, body in (
        ("respond", {"body": "Looking"}),
        ("note", {"body": "internal"}),
        ("resolve", {"resolution": "Fixed"}),
    ):
        r = await act(live, case["id"], action, as_ann, **body)
        assert r.status_code == 200, r.text
    items = (await live.get(f"{V1}/cases/{case['id']}/timeline")).json()["items"]
    got = [e["kind"] for e in items]
    assert got[0] == "opened"
    assert got.index("assigned") < got.index("respond") < got.index("note")
    assert got[-1] == "resolve"
    stamps = [e["at"] for e in items]
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    assert stamps[0] <= stamps[-1]
    respond = items[got.index("respond")]
    assert (respond["actor_role"], respond["actor_id"], respond["body"]) == (
        "agent",
        str(acme["ann"].id),
        "Looking",
    )
    assert "intake" not in items[0]["data"]


async def test_notifications_list_the_acknowledgement_and_the_assignment(live, acme):
    case = await settle(
        live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"], assigned=True
    )
    r = await live.get(f"{V1}/cases/{case['id']}/notifications")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert {n["template"] for n in items} == {"acknowledgement", "assignment"}
    by_template = {n["template"]: n for n in items}
    assert by_template["acknowledgement"]["recipient"] == "ada@acme.example"
    assert by_template["assignment"]["recipient"] == "ann@casework.test"
    assert all(n["status"] in ("pending", "sent") and n["message_id"] for n in items)


# ----- auth, malformed ids, OpenAPI ---------------------------------------------------------


async def test_every_case_endpoint_needs_a_token(api):
    some = uuid.uuid4()
    calls = [
        ("POST", f"{V1}/cases", {"subject": "S", "channel": "email", "email": "a@b.test"}),
        ("GET", f"{V1}/cases", None),
        ("GET", f"{V1}/cases/{some}", None),
        ("GET", f"{V1}/cases/{some}/timeline", None),
        ("GET", f"{V1}/cases/{some}/notifications", None),
        ("POST", f"{V1}/cases/{some}/actions/respond", {"body": "hi"}),
    ]
    for method, path, body in calls:
        for headers in (NO_TOKEN, {"Authorization": "Bearer garbage"}):
            r = await api.request(method, path, json=body, headers=headers)
            assert_problem(r, 401)


async def test_a_malformed_case_id_is_422_not_500(api):
    for method, path in (
        ("GET", f"{V1}/cases/not-a-uuid"),
        ("GET", f"{V1}/cases/not-a-uuid/timeline"),
        ("GET", f"{V1}/cases/not-a-uuid/notifications"),
        ("POST", f"{V1}/cases/not-a-uuid/actions/respond"),
    ):
        assert_422(await api.request(method, path, json={"body": "hi"}))
    assert_problem(await api.get(f"{V1}/cases/{uuid.uuid4()}"), 404)


async def test_the_openapi_document_lists_the_case_endpoints(api):
    r = await api.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"get", "post"} <= set(paths[f"{V1}/cases"])
    assert "post" in paths[f"{V1}/cases/{{case_id}}/actions/{{action}}"]
    assert "get" in paths[f"{V1}/cases/{{case_id}}/timeline"]
