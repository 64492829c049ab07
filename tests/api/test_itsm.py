"""ITSM escalation over HTTP: the webhook adapter against a real HTTP server (signed body,
a 500 then a 200 make exactly one incident), signed status updates back that move the case,
and the built-in service desk's own API."""

import asyncio
import dataclasses
import json
import time
import uuid

import httpx
import pytest

from api.app import create_app
from casework.settings import Settings
from tests import factories
from tests.api.test_cases import assert_422, assert_problem, kinds, open_case, settle
from tests.conftest import ADMIN_TOKEN, make_deps, mint, running_worker
from tests.itsm_receiver import Receiver
from workflows.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_payload

V1 = "/api/v1"
SECRET = "itsm-shared-secret"


@pytest.fixture
async def desk(sessions, database_url, ts_env):
    """The app and a worker set up for the webhook adapter, and the receiving desk, which
    fails the first delivery with a 500."""
    receiver = Receiver(secret=SECRET, script=[500]).start()
    settings = Settings(
        DATABASE_URL=database_url,
        CASEWORK_ADMIN_TOKEN=ADMIN_TOKEN,
        CASEWORK_TASK_QUEUE=f"tq-{uuid.uuid4().hex[:8]}",
        CASEWORK_WEBHOOK_SECRET=SECRET,
        CASEWORK_ITSM_ADAPTER="webhook",
        CASEWORK_ITSM_WEBHOOK_URL=receiver.url,
    )
    deps = dataclasses.replace(
        make_deps(sessions),
        itsm_adapter=settings.itsm_adapter,
        itsm_webhook_url=settings.itsm_webhook_url,
        webhook_secret=SECRET,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            app.state.temporal.client = ts_env.client
            async with (
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://casework.test",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                ) as http,
                running_worker(ts_env.client, deps, settings.task_queue),
            ):
                yield {"http": http, "receiver": receiver}
    finally:
        receiver.stop()


async def people(http, sessions) -> dict:
    account = await factories.account(sessions, "Acme", domains=("acme.example",))
    ada = await factories.contact(sessions, account.id, name="Ada", email="ada@acme.example")
    ann = await factories.agent(sessions, "Ann")
    return {
        "ada": ada,
        "as_ann": await mint(http, "agent", ann.id),
        "as_itsm": await mint(http, "integration"),
    }


async def wait_view(http, case_id, check, timeout: float = 20) -> dict:
    view = None
    for _ in range(int(timeout / 0.05)):
        view = (await http.get(f"{V1}/cases/{case_id}")).json()
        if check(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(view)


async def test_the_webhook_adapter_delivers_one_incident_and_signed_updates_move_the_case(
    desk, sessions
):
    http, receiver = desk["http"], desk["receiver"]
    who = await people(http, sessions)
    case = await settle(http, (await open_case(http, contact_id=str(who["ada"].id)))["id"])
    r = await http.post(
        f"{V1}/cases/{case['id']}/actions/escalate-itsm",
        json={"summary": "VPN concentrator down", "urgency": 1, "auto_resolve": True},
        headers=who["as_ann"],
    )
    assert r.status_code == 200, r.text
    (line,) = r.json()["incidents"]
    assert (line["state"], line["adapter"]) == ("new", "webhook")

    # The receiver answered 500 first, then 200: one incident there, its id stored here.
    view = await wait_view(http, case["id"], lambda v: v["incidents"][0]["external_id"])
    assert view["incidents"][0]["external_id"] == "EXT-1"
    assert [x.status for x in receiver.received] == [500, 200]
    assert all(x.signature_ok for x in receiver.received)
    assert {x.idempotency_key for x in receiver.received} == {line["id"]}
    assert len(receiver.incidents) == 1
    sent = receiver.received[-1].body
    assert (sent["case_number"], sent["summary"], sent["urgency"]) == (
        case["number"],
        "VPN concentrator down",
        1,
    )
    assert sent["callback_url"].endswith(f"/api/v1/integrations/itsm/incidents/{line['id']}")
    for _ in range(200):  # the workflow records the link right after the row has it
        if "itsm_linked" in await kinds(http, case["id"]):
            break
        await asyncio.sleep(0.05)
    assert "itsm_linked" in await kinds(http, case["id"])
    r = await http.get(f"{V1}/incidents", params={"case_id": case["id"]})
    assert [i["number"] for i in r.json()["items"]] == [line["number"]]
    # It lives in the outside desk: it moves there, not through our own desk's API.
    r = await http.post(f"{V1}/incidents/{line['id']}/status", json={"status": "closed"})
    assert_problem(r, 409)

    url = f"{V1}/integrations/itsm/incidents/EXT-1"

    async def post(body: dict, *, secret=SECRET, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        signed = {SIGNATURE_HEADER: sign(secret, data)} if secret else {}
        return await http.post(
            url,
            content=data,
            headers={
                **who["as_itsm"],
                "content-type": "application/json",
                **signed,
                **(headers or {}),
            },
        )

    moving = {"status": "in_progress", "comment": "Network team on it."}
    assert_problem(await post(moving, secret="not-the-secret"), 401)
    assert_problem(await post(moving, secret=None), 401)
    tampered = json.dumps({**moving, "status": "closed"}).encode()
    assert_problem(
        await post(
            moving,
            headers={SIGNATURE_HEADER: sign(SECRET, json.dumps(moving).encode())},
            raw=tampered,
        ),
        401,
    )
    # A signed request replayed outside the window is refused, even with a valid signature.
    stale = str(int(time.time()) - 3600)
    data = json.dumps(moving).encode()
    assert_problem(
        await post(
            moving,
            headers={
                TIMESTAMP_HEADER: stale,
                SIGNATURE_HEADER: sign(SECRET, signed_payload(data, stale)),
            },
        ),
        401,
    )
    r = await http.post(url, content=json.dumps(moving).encode(), headers=who["as_ann"])
    assert_problem(r, 403)
    assert_422(await post({"status": "on_fire"}))
    assert_problem(
        await http.post(
            f"{V1}/integrations/itsm/incidents/EXT-404",
            content=b'{"status":"closed"}',
            headers={**who["as_itsm"], SIGNATURE_HEADER: sign(SECRET, b'{"status":"closed"}')},
        ),
        404,
    )
    assert (await http.get(f"{V1}/cases/{case['id']}")).json()["incidents"][0]["state"] == "new"

    r = await post(moving)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["last_comment"]) == ("in_progress", "Network team on it.")
    resolved = {"status": "resolved", "resolution": "Replaced the concentrator's PSU."}
    for _ in range(2):  # the desk redelivers: the same idempotency key applies once
        r = await post(resolved, headers={"Idempotency-Key": "desk-evt-7"})
        assert r.status_code == 200, r.text
    view = await wait_view(http, case["id"], lambda v: v["state"] == "resolved")
    assert view["resolution"] == "Replaced the concentrator's PSU."
    assert view["incidents"][0]["state"] == "resolved"
    timeline = await kinds(http, case["id"])
    assert timeline.count("incident_resolved") == 1
    assert timeline[-3:] == ["incident_in_progress", "incident_resolved", "resolve"]
    assert (await post({"status": "closed"})).status_code == 200
    assert_problem(await post(moving), 409)  # closed stays closed


async def test_the_builtin_desk_moves_its_incidents_through_its_own_api(api, sessions, ts_env):
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        who = await people(api, sessions)
        as_ada = await mint(api, "contact", who["ada"].id)
        case = await settle(api, (await open_case(api, contact_id=str(who["ada"].id)))["id"])
        url = f"{V1}/cases/{case['id']}/actions/escalate-itsm"
        assert_422(await api.post(url, json={"urgency": 7}, headers=who["as_ann"]))
        assert_problem(await api.post(url, json={}, headers=as_ada), 403)
        r = await api.post(url, json={}, headers=who["as_ann"])
        assert r.status_code == 200, r.text
        (line,) = r.json()["incidents"]
        assert (line["adapter"], line["summary"]) == ("builtin", "Router down")
        assert_problem(await api.post(url, json={}, headers=who["as_ann"]), 409)  # one open

        status = f"{V1}/incidents/{line['id']}/status"
        assert_422(await api.post(status, json={"status": "vanished"}, headers=who["as_ann"]))
        assert_problem(await api.post(status, json={"status": "closed"}, headers=as_ada), 403)
        assert_problem(
            await api.post(f"{V1}/incidents/{uuid.uuid4()}/status", json={"status": "closed"}),
            404,
        )
        r = await api.post(
            status, json={"status": "resolved", "resolution": "Done."}, headers=who["as_ann"]
        )
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["resolution"]) == ("resolved", "Done.")
        view = (await api.get(f"{V1}/cases/{case['id']}")).json()
        assert view["state"] == "open"  # no auto-resolve asked for
        assert view["incidents"][0]["state"] == "resolved"
        assert "incident_resolved" in await kinds(api, case["id"])
        # The webhook secret is unset here: the integration endpoint takes the token alone.
        r = await api.post(
            f"{V1}/integrations/itsm/incidents/{line['id']}",
            json={"status": "closed"},
            headers=who["as_itsm"],
        )
        assert r.status_code == 200 and r.json()["state"] == "closed"
