"""The catalog API: create and read back every resource, validation, roles and routing."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models.cases import Assignment, Case
from tests import factories
from tests.conftest import make_deps, mint, running_worker

V1 = "/api/v1"
WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


async def post(api, path: str, body: dict, **kw) -> dict:
    r = await api.post(f"{V1}/{path}", json=body, **kw)
    assert r.status_code == 201, r.text
    return r.json()


async def roundtrip(api, path: str, body: dict) -> dict:
    created = await post(api, path, body)
    r = await api.get(f"{V1}/{path}/{created['id']}")
    assert r.status_code == 200, r.text
    assert r.json() == created
    return created


def assert_422(r, field: str | None = None) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if field:
        assert any(field in e["loc"] for e in r.json()["errors"]), r.json()


async def test_every_resource_reads_back_as_created(api):
    parent = await roundtrip(api, "accounts", {"name": "Acme Group"})
    acme = await roundtrip(
        api,
        "accounts",
        {"name": "Acme", "type": "both", "parent_id": parent["id"], "domains": ["Acme.Example"]},
    )
    assert acme["domains"] == ["acme.example"] and acme["parent_id"] == parent["id"]
    contact = await roundtrip(
        api,
        "contacts",
        {"name": "Ada", "email": "Ada@Acme.Example", "account_ids": [acme["id"], parent["id"]]},
    )
    assert contact["email"] == "ada@acme.example"
    assert contact["primary_account_id"] == acme["id"]
    assert set(contact["account_ids"]) == {acme["id"], parent["id"]}
    consumer = await roundtrip(
        api,
        "consumers",
        {
            "name": "Bea",
            "email": "bea@mail.test",
            "addresses": [{"line1": "1 Main St", "city": "Oslo", "country": "NO", "primary": True}],
        },
    )
    assert consumer["addresses"][0]["city"] == "Oslo"
    product = await roundtrip(api, "products", {"name": "Router X", "sku": "RX-1"})
    asset = await roundtrip(
        api, "assets", {"product_id": product["id"], "serial": "S1", "account_id": acme["id"]}
    )
    schedule = await roundtrip(
        api,
        "schedules",
        {
            "name": "Office",
            "timezone": "Europe/Oslo",
            "hours": WEEKDAYS,
            "holidays": ["2026-12-25"],
        },
    )
    assert schedule["hours"]["mon"] == [["09:00", "17:00"]]
    sla = await roundtrip(
        api,
        "sla-definitions",
        {
            "name": "First reply",
            "kind": "response",
            "duration_seconds": 3600,
            "schedule_id": schedule["id"],
            "default_for_priority": 2,
        },
    )
    assert sla["warn_at"] == [0.5, 0.75] and sla["pause_on"] == ["awaiting_info"]
    entitlement = await roundtrip(
        api,
        "entitlements",
        {
            "name": "Gold",
            "asset_id": asset["id"],
            "tier": "gold",
            "channels": ["email", "phone"],
            "sla_definition_ids": [sla["id"]],
            "units": {"kind": "cases", "total": 10},
        },
    )
    assert entitlement["units"] == {"kind": "cases", "total": 10}
    assert entitlement["sla_definition_ids"] == [sla["id"]]
    await roundtrip(api, "skills", {"name": "networking"})
    agent = await roundtrip(
        api,
        "agents",
        {
            "name": "Ann",
            "email": "ann@casework.test",
            "skills": [{"name": "networking", "level": 4}],
            "groups": ["tier2"],
        },
    )
    assert agent["skills"] == [{"name": "networking", "level": 4}]
    assert (agent["capacity"], agent["status"]) == (5, "available")
    tech = await roundtrip(
        api,
        "technicians",
        {"name": "Tom", "email": "tom@casework.test", "skills": ["fiber"], "territory": "north"},
    )
    assert tech["skills"] == ["fiber"]
    article = await roundtrip(
        api,
        "knowledge",
        {"title": "Reset", "body": "Hold the button.", "product_id": product["id"]},
    )
    assert (article["published"], article["deflections"]) == (True, 0)


async def test_lists_page_with_a_cursor(api):
    names = [f"Account {i}" for i in range(3)]
    for name in names:
        await post(api, "accounts", {"name": name})
    first = (await api.get(f"{V1}/accounts", params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (
        await api.get(f"{V1}/accounts", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert second["next_cursor"] is None
    assert [a["name"] for a in first["items"] + second["items"]] == names
    assert (await api.get(f"{V1}/accounts", params={"limit": 501})).status_code == 422
    assert (await api.get(f"{V1}/accounts", params={"cursor": "garbage"})).status_code == 422


async def test_contacts_list_with_their_accounts(api):
    acme = await post(api, "accounts", {"name": "Acme"})
    await post(
        api, "contacts", {"name": "Ada", "email": "ada@acme.example", "account_ids": [acme["id"]]}
    )
    items = (await api.get(f"{V1}/contacts")).json()["items"]
    assert items[0]["primary_account_id"] == acme["id"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("accounts", {"name": "Acme", "colour": "red"}, "colour"),
        ("accounts", {"name": "Acme", "type": "vendor"}, "type"),
        ("accounts", {"name": ""}, "name"),
        ("accounts", {"name": "x" * 201}, "name"),
        ("accounts", {"name": "A\u0000B"}, "name"),
        ("contacts", {"name": "Ada", "email": "not-an-email"}, "email"),
        ("schedules", {"name": "S", "timezone": "Mars/Olympus", "hours": WEEKDAYS}, "timezone"),
        (
            "schedules",
            {"name": "S", "timezone": "UTC", "hours": {"mon": [["09:00", "25:00"]]}},
            "hours",
        ),
        (
            "schedules",
            {
                "name": "S",
                "timezone": "UTC",
                "hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
            },
            "hours",
        ),
        ("schedules", {"name": "S", "timezone": "UTC", "hours": {"moon": []}}, "hours"),
        (
            "schedules",
            {"name": "S", "timezone": "UTC", "hours": {}, "holidays": ["25/12/2026"]},
            "holidays",
        ),
        ("sla-definitions", {"name": "R", "kind": "reply", "duration_seconds": 60}, "kind"),
        (
            "sla-definitions",
            {"name": "R", "kind": "response", "duration_seconds": 0},
            "duration_seconds",
        ),
        (
            "sla-definitions",
            {"name": "R", "kind": "response", "duration_seconds": 60, "warn_at": [1.0]},
            "warn_at",
        ),
        (
            "sla-definitions",
            {"name": "R", "kind": "response", "duration_seconds": 60, "pause_on": ["closed"]},
            "pause_on",
        ),
        ("entitlements", {"name": "No grain"}, None),
        (
            "entitlements",
            {"name": "E", "product_id": str(uuid.uuid4()), "units": {"kind": "cases", "total": 0}},
            "units",
        ),
        ("agents", {"name": "A", "email": "a@casework.test", "capacity": 1001}, "capacity"),
        (
            "agents",
            {"name": "A", "email": "a@casework.test", "skills": [{"name": "x", "level": 6}]},
            "skills",
        ),
        (
            "assets",
            {
                "product_id": str(uuid.uuid4()),
                "account_id": str(uuid.uuid4()),
                "consumer_id": str(uuid.uuid4()),
            },
            None,
        ),
    ],
)
async def test_bad_input_is_a_422_problem(api, path, body, field):
    assert_422(await api.post(f"{V1}/{path}", json=body), field)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("accounts", "parent_id"),
        ("contacts", "account_ids"),
        ("assets", "product_id"),
        ("sla-definitions", "schedule_id"),
        ("entitlements", "sla_definition_ids"),
        ("agents", "skills"),
        ("knowledge", "product_id"),
    ],
)
async def test_unknown_references_are_422_naming_the_field(api, path, field):
    ghost = str(uuid.uuid4())
    body = {
        "accounts": {"name": "A", "parent_id": ghost},
        "contacts": {"name": "C", "email": "c@acme.example", "account_ids": [ghost]},
        "assets": {"product_id": ghost},
        "sla-definitions": {
            "name": "S",
            "kind": "response",
            "duration_seconds": 9,
            "schedule_id": ghost,
        },
        "entitlements": {
            "name": "E",
            "account_id": None,
            "product_id": None,
            "consumer_id": None,
            "contact_id": None,
            "asset_id": None,
            "sla_definition_ids": [ghost],
        },
        "agents": {
            "name": "A",
            "email": "a@casework.test",
            "skills": [{"name": "ghostly", "level": 1}],
        },
        "knowledge": {"title": "T", "body": "B", "product_id": ghost},
    }[path]
    if path == "entitlements":
        body["product_id"] = (await post(api, "products", {"name": "P"}))["id"]
    assert_422(await api.post(f"{V1}/{path}", json=body), field)


async def test_duplicates_are_409(api):
    await post(api, "skills", {"name": "billing"})
    r = await api.post(f"{V1}/skills", json={"name": "billing"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    await post(api, "contacts", {"name": "Ada", "email": "ada@acme.example"})
    r = await api.post(f"{V1}/contacts", json={"name": "Ada", "email": "ADA@acme.example"})
    assert r.status_code == 409


async def test_ids_that_are_unknown_are_404_and_malformed_are_422(api):
    assert (await api.get(f"{V1}/accounts/{uuid.uuid4()}")).status_code == 404
    assert (await api.get(f"{V1}/accounts/nope")).status_code == 422


async def test_callers_without_a_good_token_are_401(api):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer garbage"}):
        r = await api.post(f"{V1}/accounts", json={"name": "Acme"}, headers=headers)
        assert r.status_code == 401
        assert (await api.get(f"{V1}/accounts", headers=headers)).status_code == 401


async def test_roles_that_may_not_write_are_403(api, sessions):
    agent = await factories.agent(sessions, "Ann")
    headers = await mint(api, "agent", agent.id)
    r = await api.post(f"{V1}/accounts", json={"name": "Acme"}, headers=headers)
    assert r.status_code == 403
    assert (await api.get(f"{V1}/accounts", headers=headers)).status_code == 200
    integration = await mint(api, "integration")
    await post(api, "accounts", {"name": "Bulk"}, headers=integration)
    consumer = await factories.consumer(sessions)
    customer = await mint(api, "consumer", consumer.id)
    assert (await api.get(f"{V1}/accounts", headers=customer)).status_code == 403


async def test_account_team(api, sessions):
    acme = await post(api, "accounts", {"name": "Acme"})
    agent = await factories.agent(sessions, "Ann")
    team = f"{V1}/accounts/{acme['id']}/team"
    r = await api.post(team, json={"agent_id": str(agent.id), "role": "account_manager"})
    assert r.status_code == 201
    assert (await api.get(team)).json()["items"] == [
        {"account_id": acme["id"], "agent_id": str(agent.id), "role": "account_manager"}
    ]
    assert_422(await api.post(team, json={"agent_id": str(uuid.uuid4())}), "agent_id")
    r = await api.post(f"{V1}/accounts/{uuid.uuid4()}/team", json={"agent_id": str(agent.id)})
    assert r.status_code == 404


async def test_sla_preview_counts_only_business_hours(api):
    body = {
        "start": "2026-03-06T16:30:00+01:00",  # a Friday
        "duration_seconds": 7200,
        "schedule": {"timezone": "Europe/Berlin", "hours": WEEKDAYS},
    }
    r = await api.post(f"{V1}/sla/preview", json=body)
    assert r.status_code == 200, r.text
    due = datetime.fromisoformat(r.json()["due_at"])
    assert due == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)  # Monday 10:30 in Berlin
    assert r.json()["due_at"].startswith("2026-03-09T10:30:00")

    stored = await post(
        api, "schedules", {"name": "Berlin", "timezone": "Europe/Berlin", "hours": WEEKDAYS}
    )
    body = {**body, "schedule": None, "schedule_id": stored["id"]}
    assert (await api.post(f"{V1}/sla/preview", json=body)).json()["due_at"] == r.json()["due_at"]

    naive = {"start": "2026-03-06T16:30:00", "duration_seconds": 60}
    assert_422(await api.post(f"{V1}/sla/preview", json=naive), "start")
    ghost = {**naive, "start": body["start"], "schedule_id": str(uuid.uuid4())}
    assert_422(await api.post(f"{V1}/sla/preview", json=ghost), "schedule_id")
    never = {**naive, "start": body["start"], "schedule": {"timezone": "UTC", "hours": {}}}
    assert_422(await api.post(f"{V1}/sla/preview", json=never))


async def waiting_case(sessions) -> Case:
    return await factories.add(
        sessions,
        Case(
            id=uuid.uuid4(),
            number=f"CS{uuid.uuid4().int % 10**7:07d}",
            workflow_id=f"case-{uuid.uuid4()}",
            channel="email",
            subject="Router down",
            state="new",
            waiting_since=datetime.now(UTC),
        ),
    )


async def test_an_agent_becoming_available_takes_waiting_cases(api, sessions, ts_env):
    ann = await factories.agent(sessions, "Ann", status="away")
    bob = await factories.agent(sessions, "Bob", status="away")
    case = await waiting_case(sessions)
    as_ann = await mint(api, "agent", ann.id)
    path = f"{V1}/agents/{ann.id}/availability"

    r = await api.put(
        f"{V1}/agents/{bob.id}/availability", json={"status": "available"}, headers=as_ann
    )
    assert r.status_code == 403
    assert_422(await api.put(path, json={"status": "asleep"}, headers=as_ann), "status")

    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        r = await api.put(path, json={"status": "available"}, headers=as_ann)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "available"
        for _ in range(100):
            async with sessions() as db:
                made = (
                    await db.scalars(select(Assignment).where(Assignment.case_id == case.id))
                ).first()
            if made:
                break
            await asyncio.sleep(0.1)
    assert made is not None and made.agent_id == ann.id


async def test_a_supervisor_changes_capacity(api, sessions, ts_env):
    agent = await factories.agent(sessions, "Ann", capacity=0)
    supervisor = await mint(api, "supervisor")
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        r = await api.patch(f"{V1}/agents/{agent.id}", json={"capacity": 3}, headers=supervisor)
    assert r.status_code == 200 and r.json()["capacity"] == 3
    assert_422(await api.patch(f"{V1}/agents/{agent.id}", json={"capacity": None}))


async def test_knowledge_search_ranks_title_matches_first(api, sessions):
    body_hit = await post(api, "knowledge", {"title": "Lights", "body": "If the router blinks red"})
    title_hit = await post(api, "knowledge", {"title": "Router reset", "body": "Hold the button"})
    await post(api, "knowledge", {"title": "Router draft", "body": "...", "published": False})
    await post(api, "knowledge", {"title": "Billing", "body": "Invoices"})
    r = await api.get(f"{V1}/knowledge/search", params={"q": "ROUTER"})
    assert r.status_code == 200
    ids = [a["id"] for a in r.json()["items"]]
    assert ids.index(title_hit["id"]) < ids.index(body_hit["id"])
    assert len(ids) == 3  # staff also see the draft

    consumer = await factories.consumer(sessions)
    customer = await mint(api, "consumer", consumer.id)
    r = await api.get(f"{V1}/knowledge/search", params={"q": "router"}, headers=customer)
    assert [a["id"] for a in r.json()["items"]] == [title_hit["id"], body_hit["id"]]

    r = await api.post(f"{V1}/knowledge/{title_hit['id']}/deflections", headers=customer)
    assert r.json() == {"id": title_hit["id"], "deflections": 1}
    r = await api.post(f"{V1}/knowledge/{uuid.uuid4()}/deflections", headers=customer)
    assert r.status_code == 404
