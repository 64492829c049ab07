"""Case workflows keep their search attributes current on the dev server, so a query to
Temporal itself finds exactly the open breached cases (what a supervisor would type in the
Temporal UI or `temporal workflow list --query`)."""

import asyncio

V1 = "/api/v1"
QUERY = "WorkflowType = 'CaseWorkflow' AND CaseState = 'open' AND Breached = true"


async def post(http, path: str, body: dict) -> dict:
    r = await http.post(f"{V1}{path}", json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_a_query_for_open_breached_cases_returns_exactly_those(stack):
    http, client = stack["http"], stack["client"]
    fast = await post(
        http,
        "/sla-definitions",
        {"name": "Two seconds", "kind": "response", "duration_seconds": 2, "warn_at": []},
    )
    hurried = await post(http, "/accounts", {"name": "Hurried", "domains": ["hurried.example"]})
    calm = await post(http, "/accounts", {"name": "Calm", "domains": ["calm.example"]})
    await post(
        http,
        "/entitlements",
        {"name": "Fast", "account_id": hurried["id"], "sla_definition_ids": [fast["id"]]},
    )
    await post(http, "/agents", {"name": "Sam", "email": "sam@casework.example"})

    async def case(domain: str, n: int) -> dict:
        body = {"subject": f"Case {n}", "channel": "email", "email": f"c{n}@{domain}"}
        return await post(http, "/cases", body)

    breaching = [await case("hurried.example", n) for n in range(3)]
    calm_cases = [await case("calm.example", n) for n in range(2)]
    cancelled = breaching.pop()  # breaches too, but is no longer open
    r = await http.post(f"{V1}/cases/{cancelled['id']}/actions/cancel", json={"reason": "dup"})
    assert r.status_code == 200, r.text
    assert calm["id"] not in {c["account_id"] for c in breaching}

    expected = {c["workflow_id"] for c in breaching}
    found: set[str] = set()
    for _ in range(100):  # the breach fires at 2 s; visibility follows within a moment
        found = {wf.id async for wf in client.list_workflows(QUERY)}
        if found == expected:
            break
        await asyncio.sleep(0.2)
    assert found == expected
    described = await client.get_workflow_handle(breaching[0]["workflow_id"]).describe()
    attrs = {p.key.name: p.value for p in described.typed_search_attributes}
    assert attrs["CaseState"] == "open" and attrs["Breached"] is True
    assert attrs["AccountId"] == hurried["id"] and attrs["Priority"] == 2  # raised by the breach
    assert {c["workflow_id"] for c in calm_cases}.isdisjoint(found)
