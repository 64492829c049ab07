"""A burst of actions on one case over HTTP on the dev server: Temporal admits ten in-flight
updates per workflow; the API waits its turn instead of failing, and never answers a request
as failed when its action was recorded. An Idempotency-Key makes a retried action apply once."""

import asyncio
import uuid
from collections import Counter

import pytest

from tests.e2e.test_case_over_http import poll, token

pytestmark = pytest.mark.slow
BURST = 50


async def busy_case(http) -> tuple[dict, dict]:
    """An open case and a token of the agent it is assigned to."""
    tag = uuid.uuid4().hex[:8]
    r = await http.post("/api/v1/agents", json={"name": "Bo", "email": f"bo-{tag}@casework.test"})
    assert r.status_code == 201, r.text
    r = await http.post(
        "/api/v1/cases",
        json={"subject": "Chat storm", "channel": "chat", "email": f"cy-{tag}@busy.test"},
    )
    assert r.status_code == 201, r.text
    # Routing picks the least loaded agent: this one, or one an earlier test made.
    case = await poll(http, r.json()["id"], lambda v: v["assigned_agent_id"])
    return case, await token(http, "agent", case["assigned_agent_id"])


async def timeline_kinds(http, case_id) -> Counter:
    items = (await http.get(f"/api/v1/cases/{case_id}/timeline")).json()["items"]
    return Counter(e["kind"] for e in items), [e["body"] for e in items if e["kind"] == "note"]


async def test_fifty_concurrent_notes_are_all_recorded_and_all_answered_200(stack):
    http = stack["http"]
    case, as_agent = await busy_case(http)
    url = f"/api/v1/cases/{case['id']}/actions/note"

    async def note(i: int):
        return await http.post(url, json={"body": f"note {i}"}, headers=as_agent)

    sent = []
    for burst in range(2):  # twice: one burst on a loaded machine may pass by luck
        numbers = range(burst * BURST, (burst + 1) * BURST)
        answers = await asyncio.gather(*(note(i) for i in numbers))
        statuses = Counter(r.status_code for r in answers)
        assert statuses == {200: BURST}, [r.text for r in answers if r.status_code != 200][:3]
        sent += [f"note {i}" for i in numbers]
        kinds, bodies = await timeline_kinds(http, case["id"])
        assert kinds["note"] == len(sent)
        assert sorted(bodies) == sorted(sent)


async def test_the_same_idempotency_key_twice_applies_the_action_once(stack):
    http = stack["http"]
    case, as_agent = await busy_case(http)
    url = f"/api/v1/cases/{case['id']}/actions/note"
    keyed = {**as_agent, "Idempotency-Key": "chat-message-4711"}
    first, again = await asyncio.gather(
        http.post(url, json={"body": "once"}, headers=keyed),
        http.post(url, json={"body": "once"}, headers=keyed),
    )
    later = await http.post(url, json={"body": "once"}, headers=keyed)
    assert [first.status_code, again.status_code, later.status_code] == [200, 200, 200]
    other = await http.post(
        url, json={"body": "once"}, headers={**as_agent, "Idempotency-Key": "chat-message-4712"}
    )
    assert other.status_code == 200, other.text
    kinds, bodies = await timeline_kinds(http, case["id"])
    assert bodies == ["once", "once"]  # one per key
    # The key is per action: the same key on another action is another action.
    r = await http.post(
        f"/api/v1/cases/{case['id']}/actions/respond", json={"body": "hello"}, headers=keyed
    )
    assert r.status_code == 200, r.text
    assert (await timeline_kinds(http, case["id"]))[0]["respond"] == 1
    too_long = {**as_agent, "Idempotency-Key": "k" * 201}
    r = await http.post(url, json={"body": "x"}, headers=too_long)
    assert r.status_code == 422, r.text
