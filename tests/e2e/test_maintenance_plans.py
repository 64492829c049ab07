"""Scheduled triggers on the dev server (Temporal Schedules): a maintenance plan opens one case,
with a work order pre-filled from the asset, per asset and due date, however often it runs; an
entitlement ending within the lead time opens one renewal case, however often expiry runs."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from casework.schedules import ensure_schedules
from models.cases import Case
from models.scheduled import MaintenancePlan, ScheduledRun
from tests.e2e.test_case_over_http import poll, token
from workflows.housekeeping import HOUSEKEEPING_SCHEDULE_ID
from workflows.housekeeping_types import PurgeInput
from workflows.scheduled import EntitlementExpiryWorkflow, MaintenanceRunWorkflow
from workflows.scheduled_types import ScheduledRunInput
from workflows.upkeep import EXPIRY_SCHEDULE_ID

pytestmark = __import__("pytest").mark.slow


async def created(http, path, body):
    r = await http.post(f"/api/v1/{path}", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def cases_by_asset(sessions, asset_ids) -> dict[str, list[Case]]:
    async with sessions() as db:
        rows = (await db.execute(select(Case).where(Case.asset_id.in_(asset_ids)))).scalars()
        found: dict[str, list[Case]] = {str(a): [] for a in asset_ids}
        for case in rows:
            found[str(case.asset_id)].append(case)
    return found


async def runs_of(sessions, plan_id, count, timeout=30) -> list[ScheduledRun]:
    """The plan's runs, oldest first, once there are `count` of them."""
    for _ in range(int(timeout / 0.2)):
        async with sessions() as db:
            query = select(ScheduledRun).where(ScheduledRun.plan_id == uuid.UUID(plan_id))
            runs = (await db.execute(query.order_by(ScheduledRun.at))).scalars().all()
        if len(runs) >= count:
            assert len(runs) == count
            return runs
        await asyncio.sleep(0.2)
    raise AssertionError(runs)


async def racing(stack, run, arg, n):
    """`n` runs of a scheduled workflow started at once (as overlapping or retried runs)."""
    client, queue = stack["client"], stack["settings"].task_queue
    ids = [f"race-{uuid.uuid4().hex[:8]}" for _ in range(n)]
    return await asyncio.gather(
        *(client.execute_workflow(run, arg, id=i, task_queue=queue) for i in ids)
    )


async def install_base(http, tag):
    """An account with a contact, two boilers at its sites, and someone else's heat pump."""
    acct = await created(http, "accounts", {"name": f"Acme {tag}"})
    await created(
        http,
        "contacts",
        {"name": "Ada", "email": f"ada-{tag}@acme.example", "account_ids": [acct["id"]]},
    )
    boiler = await created(http, "products", {"name": "Boiler", "sku": f"B-{tag}"})
    pump = await created(http, "products", {"name": "Heat pump", "sku": f"H-{tag}"})
    b1, b2 = [
        await created(
            http,
            "assets",
            {
                "product_id": boiler["id"],
                "serial": f"B-{tag}-{n}",
                "account_id": acct["id"],
                "location": f"{n} Main St, Springfield",
            },
        )
        for n in (1, 2)
    ]
    other = await created(http, "accounts", {"name": f"Bystander {tag}"})
    p1 = await created(
        http, "assets", {"product_id": pump["id"], "serial": f"H-{tag}", "account_id": other["id"]}
    )
    return acct, boiler, (b1, b2), p1


async def test_a_plan_triggered_twice_opens_one_case_per_asset_and_due_date(stack):
    http, sessions, client = stack["http"], stack["sessions"], stack["client"]
    acct, boiler, (b1, b2), pump = await install_base(http, "plan")
    tess = await created(
        http,
        "technicians",
        {"name": "Tess", "email": "tess@field.example", "skills": ["gas"], "parts": ["filter kit"]},
    )
    plan = await created(
        http,
        "maintenance-plans",
        {
            "name": "Boiler service",
            "product_id": boiler["id"],
            "every_days": 30,
            "lead_days": 7,
            "skills": ["gas"],
            "parts": ["filter kit"],
        },
    )
    # A Temporal Schedule (the UI lists it), running daily (at 00:00 UTC: intervals count
    # from the epoch).
    assert plan["schedule_id"] == f"maintenance-plan-{plan['id']}"
    described = await client.get_schedule_handle(plan["schedule_id"]).describe()
    assert described.schedule.action.workflow == "MaintenanceRunWorkflow"
    next_run = datetime.fromisoformat(plan["next_run_at"])
    assert timedelta(0) < next_run - datetime.now(UTC) <= timedelta(hours=24)
    assert (next_run.hour, next_run.minute) == (0, 0)
    assert plan["last_run"] is None
    listed = (await http.get("/api/v1/maintenance-plans")).json()["items"]
    assert plan["id"] in [p["id"] for p in listed]

    # Triggered twice at once (the second runs right after the first): both runs find both
    # boilers due (never maintained: due at once) on the same due date; the first opens their
    # cases, the second none. The heat pump is not the plan's.
    for _ in range(2):
        r = await http.post(f"/api/v1/maintenance-plans/{plan['id']}/trigger")
        assert r.status_code == 202, r.text
    runs = await runs_of(sessions, plan["id"], 2)
    assert [(r.items_due, r.cases_opened) for r in runs] == [(2, 2), (2, 0)]
    now = (await http.get(f"/api/v1/maintenance-plans/{plan['id']}")).json()
    assert now["last_run"] == {
        "at": runs[-1].at.isoformat().replace("+00:00", "Z"),
        "assets_due": 2,
        "cases_opened": 0,
    }
    assert now["next_run_at"] == plan["next_run_at"]
    assets = [b1["id"], b2["id"], pump["id"]]
    opened = await cases_by_asset(sessions, assets)
    assert [len(opened[a]) for a in assets] == [1, 1, 0]

    # The work order is pre-filled from the asset (its site) and the plan (skills, parts).
    for asset in (b1, b2):
        (case,) = opened[asset["id"]]
        assert (case.channel, case.account_id) == ("event", uuid.UUID(acct["id"]))
        view = await poll(http, str(case.id), lambda v: v["work_orders"])
        (line,) = view["work_orders"]
        wo = (await http.get(f"/api/v1/work-orders/{line['id']}")).json()
        assert wo["asset_id"] == asset["id"]
        assert wo["location"] == asset["location"]
        assert (wo["required_skills"], wo["parts"]) == (["gas"], ["filter kit"])
        assert "Boiler service" in wo["notes"]

    # Tess (free for one visit at a time) is sent to one boiler; she services it, so it is
    # maintained: due again in 30 days, outside the 7-day lead. The next run finds only the
    # other boiler, still on its first due date: no new case.
    as_tess = await token(http, "technician", tess["id"])
    for _ in range(100):
        mine = (await http.get("/api/v1/work-orders", headers=as_tess)).json()["items"]
        if mine:
            break
        await asyncio.sleep(0.2)
    (wo,) = mine
    assert wo["asset_id"] in (b1["id"], b2["id"])
    wo_id = wo["id"]
    for action, body in (
        ("accept", None),
        ("start", None),
        ("complete", {"notes": "Serviced.", "parts_used": ["filter kit"], "fixed": True}),
    ):
        r = await http.post(
            f"/api/v1/work-orders/{wo_id}/actions/{action}", json=body, headers=as_tess
        )
        assert r.status_code == 200, r.text
    await http.post(f"/api/v1/maintenance-plans/{plan['id']}/trigger")
    third = (await runs_of(sessions, plan["id"], 3))[-1]
    assert (third.items_due, third.cases_opened) == (1, 0)
    opened = await cases_by_asset(sessions, assets)
    assert [len(opened[a]) for a in assets] == [1, 1, 0]


async def test_runs_at_the_same_time_open_each_case_once(stack):
    """Three runs of one plan racing (as overlapping or retried runs would): one case per
    asset in all, each counted by the one run that opened it."""
    http, sessions = stack["http"], stack["sessions"]
    _, _, (b1, b2), _ = await install_base(http, "race")
    plan = await created(
        http,
        "maintenance-plans",
        {"name": "Checks", "asset_ids": [b1["id"], b2["id"]], "every_days": 90},
    )
    arg = ScheduledRunInput(plan_id=plan["id"], batch_size=1)
    runs = await racing(stack, MaintenanceRunWorkflow.run, arg, 3)
    assert [r.items_due for r in runs] == [2, 2, 2]
    assert sum(r.cases_opened for r in runs) == 2
    opened = await cases_by_asset(sessions, [b1["id"], b2["id"]])
    assert [len(v) for v in opened.values()] == [1, 1]


async def test_unknown_ids_are_422_naming_them_and_nothing_is_made(stack):
    http, sessions, client = stack["http"], stack["sessions"], stack["client"]
    _, boiler, (b1, _), _ = await install_base(http, "bad")
    ghost, ghost2 = str(uuid.uuid4()), str(uuid.uuid4())

    async def plans_and_schedules() -> tuple[int, int]:
        async with sessions() as db:
            rows = (await db.execute(select(func.count()).select_from(MaintenancePlan))).scalar()
        listed = [s async for s in await client.list_schedules()]
        return rows, sum(s.id.startswith("maintenance-plan-") for s in listed)

    before = await plans_and_schedules()
    r = await http.post(
        "/api/v1/maintenance-plans", json={"name": "x", "product_id": ghost, "every_days": 30}
    )
    assert r.status_code == 422, r.text
    assert ghost in str(r.json()["errors"])
    r = await http.post(
        "/api/v1/maintenance-plans",
        json={"name": "x", "asset_ids": [b1["id"], ghost, ghost2], "every_days": 30},
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", "asset_ids"]
    assert ghost in error["msg"] and ghost2 in error["msg"] and b1["id"] not in error["msg"]
    r = await http.post(
        "/api/v1/maintenance-plans",
        json={"name": "x", "product_id": boiler["id"], "asset_ids": [b1["id"]], "every_days": 3},
    )
    assert r.status_code == 422, r.text
    assert (await http.get(f"/api/v1/maintenance-plans/{ghost}")).status_code == 404
    assert (await http.post(f"/api/v1/maintenance-plans/{ghost}/trigger")).status_code == 404
    assert await plans_and_schedules() == before


async def test_an_ending_entitlement_opens_one_case_for_its_account_team(stack):
    http, sessions, client, settings = (
        stack["http"],
        stack["sessions"],
        stack["client"],
        stack["settings"],
    )
    acct = await created(http, "accounts", {"name": "Renewco"})
    await created(
        http,
        "contacts",
        {"name": "Rita", "email": "rita@renew.example", "account_ids": [acct["id"]]},
    )
    # Without the account team, Aaron would get the case: as loaded as Manny or less (Manny,
    # first, takes any case left waiting), and first by name.
    manager = await created(
        http, "agents", {"name": "Manny", "email": "manny@casework.example", "capacity": 10}
    )
    await created(http, "agents", {"name": "Aaron", "email": "aaron@casework.example"})
    r = await http.post(
        f"/api/v1/accounts/{acct['id']}/team",
        json={"agent_id": manager["id"], "role": "account_manager"},
    )
    assert r.status_code == 201, r.text
    today = date.today()
    # Ending in 10 days (within the 30-day lead), in 60 days (not yet), ended yesterday.
    for name, days in (("Gold support", 10), ("Next year", 60), ("Last year", -1)):
        ends_on = (today + timedelta(days)).isoformat()
        body = {"name": name, "account_id": acct["id"], "tier": "gold", "ends_on": ends_on}
        await created(http, "entitlements", body)

    await ensure_schedules(client, settings)
    await ensure_schedules(client, settings)  # a second worker start: the same schedules
    described = await client.get_schedule_handle(EXPIRY_SCHEDULE_ID).describe()
    assert described.schedule.action.workflow == "EntitlementExpiryWorkflow"
    (arg,) = await client.data_converter.decode(described.schedule.action.args, [ScheduledRunInput])
    assert arg.lead_days == settings.entitlement_expiry_lead_days == 30
    housekeeping = await client.get_schedule_handle(HOUSEKEEPING_SCHEDULE_ID).describe()
    assert housekeeping.schedule.action.workflow == "HousekeepingWorkflow"
    assert housekeeping.schedule.spec.intervals[0].every == timedelta(days=1)
    (purge,) = await client.data_converter.decode(housekeeping.schedule.action.args, [PurgeInput])
    assert purge.after_days == settings.purge_after_days == 7

    expiry = EntitlementExpiryWorkflow.run, ScheduledRunInput(lead_days=30)
    runs = await racing(stack, *expiry, 2)
    assert [r.items_due for r in runs] == [1, 1]
    assert sum(r.cases_opened for r in runs) == 1
    (again,) = await racing(stack, *expiry, 1)  # a later run: the same end date, no case
    assert (again.items_due, again.cases_opened) == (1, 0)
    async with sessions() as db:
        cases = (
            (await db.execute(select(Case).where(Case.account_id == uuid.UUID(acct["id"]))))
            .scalars()
            .all()
        )
    (case,) = cases
    assert case.channel == "event"
    assert case.subject.startswith("Entitlement Gold support ends on")
    view = await poll(http, str(case.id), lambda v: v["assigned_agent_id"])
    assert view["assigned_agent_id"] == manager["id"]
