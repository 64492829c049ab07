"""Work orders over HTTP on the real app: an agent requests field service, the assigned
technician (and only they) sees and moves the work order, availability dispatches, rules and
the first-time-fix metric."""

import asyncio

import pytest

from tests import factories
from tests.api.test_cases import assert_422, assert_problem, kinds, open_case, settle
from tests.conftest import make_deps, mint
from tests.workflows.field_helpers import asset, field_worker, technician

V1 = "/api/v1"


@pytest.fixture
async def live(api, sessions, ts_env):
    async with field_worker(ts_env.client, make_deps(sessions), api.task_queue):
        yield api


@pytest.fixture
async def shop(sessions, live):
    account = await factories.account(sessions, "Acme", domains=("acme.example",))
    ada = await factories.contact(sessions, account.id, name="Ada", email="ada@acme.example")
    ann = await factories.agent(sessions, "Ann")
    rex = await technician(sessions, "Rex", skills=["fiber"], parts=["ONT-2"])
    sue = await technician(sessions, "Sue", skills=["copper"])
    router = await asset(sessions, account.id)
    return {
        "ada": ada,
        "ann": ann,
        "rex": rex,
        "sue": sue,
        "asset": router,
        "as_ann": await mint(live, "agent", ann.id),
        "as_rex": await mint(live, "technician", rex.id),
        "as_sue": await mint(live, "technician", sue.id),
        "as_ada": await mint(live, "contact", ada.id),
    }


async def new_case(live, shop) -> dict:
    created = await open_case(live, contact_id=str(shop["ada"].id), asset_id=str(shop["asset"].id))
    return await settle(live, created["id"], assigned=True)


async def request(live, shop, case_id, **body):
    return await live.post(
        f"{V1}/cases/{case_id}/actions/request-field-service", json=body, headers=shop["as_ann"]
    )


async def wait_view(live, case_id, check, timeout: float = 15) -> dict:
    view = None
    for _ in range(int(timeout / 0.05)):
        view = (await live.get(f"{V1}/cases/{case_id}")).json()
        if check(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(view)


async def has_event(live, case_id, kind, timeout: float = 15) -> None:
    for _ in range(int(timeout / 0.05)):
        if kind in await kinds(live, case_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} in {await kinds(live, case_id)}")


def dispatched(view) -> bool:
    return bool(view["work_orders"]) and view["work_orders"][-1]["state"] == "dispatched"


async def test_the_assigned_technician_sees_and_completes_the_work_order(live, shop):
    case = await new_case(live, shop)
    r = await request(
        live,
        shop,
        case["id"],
        skills=["fiber"],
        parts=["ONT-2"],
        window_start="2031-03-03T09:00:00+01:00",
        window_end="2031-03-03T11:00:00+01:00",
        notes="Gate code 1234.",
        auto_resolve=True,
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["work_orders"]) == 1
    view = await wait_view(live, case["id"], dispatched)
    (line,) = view["work_orders"]
    assert line["technician_id"] == str(shop["rex"].id)
    assert line["location"] == "Alexanderplatz 1, Berlin" and line["number"].startswith("WO")
    wo_id = line["id"]

    # Rex sees it; Sue (another technician) and the customer do not.
    r = await live.get(f"{V1}/work-orders/{wo_id}", headers=shop["as_rex"])
    assert r.status_code == 200 and r.json()["notes"] == "Gate code 1234."
    assert [
        w["id"]
        for w in (await live.get(f"{V1}/work-orders", headers=shop["as_rex"])).json()["items"]
    ] == [wo_id]
    assert (await live.get(f"{V1}/work-orders", headers=shop["as_sue"])).json()["items"] == []
    assert_problem(await live.get(f"{V1}/work-orders/{wo_id}", headers=shop["as_sue"]), 404)
    assert_problem(
        await live.post(f"{V1}/work-orders/{wo_id}/actions/accept", headers=shop["as_sue"]), 404
    )
    assert_problem(await live.get(f"{V1}/work-orders/{wo_id}", headers=shop["as_ada"]), 403)

    async def do(action, body=None, who="as_rex"):
        return await live.post(
            f"{V1}/work-orders/{wo_id}/actions/{action}", json=body, headers=shop[who]
        )

    assert_problem(await do("teleport"), 404)
    assert_problem(await do("complete", {"fixed": True}), 409)  # not accepted yet
    assert_problem(await do("accept", None, "as_ann"), 403)  # agents do not accept visits
    assert (await do("accept")).json()["state"] == "accepted"
    assert (await do("start")).json()["state"] == "in_progress"
    assert_422(await do("complete", {"notes": "done"}))  # fixed is required
    assert_422(await do("complete", {"fixed": "perhaps"}))
    r = await do("complete", {"notes": "Replaced the ONT.", "parts_used": ["ONT-2"], "fixed": True})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["fixed"], done["parts_used"]) == ("completed", True, ["ONT-2"])
    assert_problem(await do("cancel"), 409)

    resolved = await wait_view(live, case["id"], lambda v: v["state"] == "resolved")
    assert resolved["work_orders"][0]["state"] == "completed"
    assert resolved["work_orders"][0]["fixed"] is True
    timeline = await kinds(live, case["id"])
    assert "request_field_service" in timeline and "work_order_completed" in timeline


async def test_request_field_service_refuses_bad_input_and_wrong_callers(live, shop):
    case = await new_case(live, shop)
    url = f"{V1}/cases/{case['id']}/actions/request-field-service"
    for body in (
        {"window_start": "2031-03-03T11:00:00Z", "window_end": "2031-03-03T09:00:00Z"},
        {"window_start": "2031-03-03T11:00:00"},  # no offset
        {"skills": "fiber"},
        {"colour": "red"},
    ):
        assert_422(await live.post(url, json=body, headers=shop["as_ann"]))
    assert_problem(await live.post(url, json={}, headers=shop["as_ada"]), 403)
    assert_problem(await live.post(url, json={}, headers=shop["as_rex"]), 403)
    r = await live.post(
        f"{V1}/cases/{case['id']}/actions/cancel", json={"reason": "x"}, headers=shop["as_ann"]
    )
    assert r.status_code == 200, r.text
    assert_problem(await live.post(url, json={}, headers=shop["as_ann"]), 409)


async def test_a_technician_coming_back_is_dispatched_the_waiting_work_order(live, shop):
    case = await new_case(live, shop)
    r = await live.put(
        f"{V1}/technicians/{shop['rex'].id}/availability",
        json={"status": "away"},
        headers=shop["as_rex"],
    )
    assert r.status_code == 200 and r.json()["status"] == "away"
    await request(live, shop, case["id"], skills=["fiber"])
    view = await wait_view(
        live, case["id"], lambda v: v["work_orders"] and v["work_orders"][0]["state"] == "waiting"
    )
    assert "No technician" in view["work_orders"][0]["waiting_reason"]
    await has_event(live, case["id"], "work_order_waiting")  # the case heard it too

    url = f"{V1}/technicians/{shop['rex'].id}/availability"
    assert_problem(await live.put(url, json={"status": "available"}, headers=shop["as_sue"]), 403)
    assert_422(await live.put(url, json={"status": "napping"}, headers=shop["as_rex"]))
    r = await live.put(url, json={"status": "available"}, headers=shop["as_rex"])
    assert r.status_code == 200, r.text
    view = await wait_view(live, case["id"], dispatched)
    assert view["work_orders"][0]["technician_id"] == str(shop["rex"].id)


async def test_category_rules_and_the_metric_need_their_roles(live, shop):
    rule = {"name": "Fiber cuts", "category": {"symptom": "no light"}, "skills": ["fiber"]}
    assert_422(await live.post(f"{V1}/field-service-rules", json={**rule, "category": {}}))
    assert_problem(
        await live.post(f"{V1}/field-service-rules", json=rule, headers=shop["as_ann"]), 403
    )
    r = await live.post(f"{V1}/field-service-rules", json=rule)
    assert r.status_code == 201, r.text
    assert r.json()["category"] == {"symptom": "no light"}
    listed = (await live.get(f"{V1}/field-service-rules", headers=shop["as_ann"])).json()
    assert [x["name"] for x in listed["items"]] == ["Fiber cuts"]

    r = await live.get(f"{V1}/metrics/first-time-fix", headers=shop["as_ann"])
    assert r.status_code == 200 and r.json()["rate"] is None
    assert_problem(await live.get(f"{V1}/metrics/first-time-fix", headers=shop["as_rex"]), 403)
    assert_422(await live.get(f"{V1}/metrics/first-time-fix", params={"since": "yesterday"}))
