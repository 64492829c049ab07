"""Field-service work orders on the time-skipping server: a case spawns a WorkOrderWorkflow,
dispatch books the technician with every skill and part in the territory who is free, a work
order waits (and says why) until one is, completion flows back into the case, and cancelling
the case calls the visit off."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.cases import Case
from models.field_service import FieldServiceRule, WorkOrder
from tests import factories as f
from tests.conftest import make_deps
from tests.workflows.field_helpers import (
    asset,
    field_worker,
    technician,
    timeline,
    wait_event,
    wait_work_order,
    wo_act,
    work_orders,
)
from tests.workflows.helpers import act, notifications, open_for, row, wait_row
from workflows.case import CaseWorkflow
from workflows.types import FieldServiceRequest, WorkOrderDispatchInput
from workflows.vocabulary import INVALID as INVALID_ACTION
from workflows.vocabulary import NOT_ALLOWED as ACTION_NOT_ALLOWED
from workflows.work_order import WorkOrderDispatchWorkflow

V1 = "/api/v1"
MONDAY_9 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def window(start: datetime, hours: int = 2) -> dict:
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=hours)).isoformat(),
    }


@pytest.fixture
async def world(sessions, fresh_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id, email="ada@acme.example")
    agent = await f.agent(sessions, "Ann")
    router = await asset(sessions, acct.id)
    async with field_worker(fresh_env.client, make_deps(sessions)) as tq:
        yield {
            "env": fresh_env,
            "client": fresh_env.client,
            "tq": tq,
            "ada": ada,
            "acct": acct,
            "agent": agent,
            "asset": router,
        }


async def open_case(sessions, world, **fields) -> Case:
    fields.setdefault("asset_id", world["asset"].id)
    case = await open_for(sessions, world["client"], world["tq"], world["ada"], **fields)
    await wait_row(sessions, case.id, lambda c: c.assigned_agent_id)
    return case


async def request(world, case, **req):
    return await act(
        world["client"], case, "request-field-service", request=FieldServiceRequest(**req)
    )


async def test_dispatch_picks_the_technician_with_every_skill_and_part_in_the_territory(
    sessions, world
):
    await technician(sessions, "Hal", skills=["fiber"], parts=["ONT-2"], territory="Hamburg")
    await technician(sessions, "Ivy", skills=["fiber"], parts=[], territory="Berlin")
    await technician(sessions, "Jon", skills=["copper"], parts=["ONT-2"], territory="Berlin")
    dee = await technician(
        sessions, "Dee", skills=["fiber", "copper"], parts=["ONT-2", "cable"], territory="berlin"
    )
    case = await open_case(sessions, world)
    await request(world, case, skills=["fiber"], parts=["ONT-2"], **window(MONDAY_9))

    wo = await wait_work_order(sessions, case.id, lambda w: w.state == "dispatched")
    assert wo.technician_id == dee.id
    assert wo.workflow_id == f"wo-{wo.number}" and wo.number.startswith("WO")
    # Pre-filled from the case's asset.
    assert (wo.asset_id, wo.location, wo.territory) == (
        world["asset"].id,
        "Alexanderplatz 1, Berlin",
        "Berlin",
    )
    assert (wo.required_skills, wo.parts, wo.window_start) == (["fiber"], ["ONT-2"], MONDAY_9)
    dispatched = await wait_event(sessions, case.id, "work_order_dispatched")
    assert dispatched.data["technician_id"] == str(dee.id) and "Dee" in dispatched.body
    kinds = [e.kind for e in await timeline(sessions, case.id)]
    assert kinds.index("request_field_service") < kinds.index("work_order_dispatched")
    sent = [(n.template, n.recipient) for n in await notifications(sessions, case.id)]
    assert ("work_order_dispatched", "dee@field.test") in sent
    # The case knows its work order too.
    state = await world["client"].get_workflow_handle(case.workflow_id).query(CaseWorkflow.state)
    assert [(w.number, w.state) for w in state.work_orders] == [(wo.number, "dispatched")]


async def test_a_work_order_waits_with_a_reason_and_is_dispatched_when_a_technician_frees(
    sessions, world
):
    kai = await technician(sessions, "Kai", skills=["fiber"], parts=["ONT-2"], status="away")
    case = await open_case(sessions, world)
    await request(world, case, skills=["fiber"], parts=["ONT-2"], **window(MONDAY_9))

    waiting = await wait_work_order(sessions, case.id, lambda w: w.state == "waiting")
    assert waiting.technician_id is None
    event = await wait_event(sessions, case.id, "work_order_waiting")
    assert "No technician" in event.body and "free in the requested window" in event.body
    assert event.body == waiting.waiting_reason

    # Kai comes back: a dispatch outside any work order books the waiting one.
    async with sessions() as db, db.begin():
        (await db.get(type(kai), kai.id)).status = "available"
    run = uuid.uuid4()
    await world["client"].execute_workflow(
        WorkOrderDispatchWorkflow.run,
        WorkOrderDispatchInput(key=f"technician-available:{kai.id}:{run}"),
        id=f"wo-dispatch-{run}",
        task_queue=world["tq"],
    )
    booked = await wait_work_order(sessions, case.id, lambda w: w.state == "dispatched")
    assert booked.technician_id == kai.id and booked.waiting_reason is None
    await wait_event(sessions, case.id, "work_order_dispatched")


async def test_a_technician_busy_in_the_window_takes_the_next_one_when_the_first_is_done(
    sessions, world
):
    lee = await technician(sessions, "Lee", skills=["fiber"])
    first = await open_case(sessions, world)
    await request(world, first, skills=["fiber"], **window(MONDAY_9))
    booked = await wait_work_order(sessions, first.id, lambda w: w.state == "dispatched")
    assert booked.technician_id == lee.id

    second = await open_case(sessions, world)
    await request(world, second, skills=["fiber"], **window(MONDAY_9 + timedelta(hours=1)))
    waiting = await wait_work_order(sessions, second.id, lambda w: w.state == "waiting")
    assert "free in the requested window" in waiting.waiting_reason
    # A window that does not overlap fits the same technician.
    third = await open_case(sessions, world)
    await request(world, third, skills=["fiber"], **window(MONDAY_9 + timedelta(hours=4)))
    later = await wait_work_order(sessions, third.id, lambda w: w.state == "dispatched")
    assert later.technician_id == lee.id

    await wo_act(world["client"], booked, "start")
    await wo_act(world["client"], booked, "complete", fixed=True, notes="Spliced.")
    freed = await wait_work_order(sessions, second.id, lambda w: w.state == "dispatched")
    assert freed.technician_id == lee.id


async def test_completion_flows_back_and_resolves_the_case_when_fixed(sessions, world):
    await technician(sessions, "Mo", skills=["fiber"], parts=["ONT-2"])
    other = await technician(sessions, "Ned", skills=["copper"])
    case = await open_case(sessions, world)
    await request(world, case, skills=["fiber"], parts=["ONT-2"], auto_resolve=True)
    wo = await wait_work_order(sessions, case.id, lambda w: w.state == "dispatched")
    client = world["client"]

    refusals = [
        ("complete", {"fixed": True}, ACTION_NOT_ALLOWED, None),  # not accepted yet
        ("accept", {}, ACTION_NOT_ALLOWED, str(other.id)),  # not Ned's work order
    ]
    for action, kw, kind, actor in refusals:
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await wo_act(client, wo, action, actor=actor, **kw)
        assert err.value.cause.type == kind
    assert (await wo_act(client, wo, "accept")).state == "accepted"
    assert (await wo_act(client, wo, "start")).state == "in_progress"
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await wo_act(client, wo, "complete")  # fixed is required
    assert err.value.cause.type == INVALID_ACTION
    done = await wo_act(
        client, wo, "complete", fixed=True, notes="Replaced the ONT.", parts_used=["ONT-2"]
    )
    assert done.state == "completed"
    assert await client.get_workflow_handle(wo.workflow_id).result() == "completed"

    row_ = (await work_orders(sessions, case.id))[0]
    assert (row_.state, row_.fixed, row_.parts_used) == ("completed", True, ["ONT-2"])
    assert row_.resolution_notes == "Replaced the ONT." and row_.completed_at is not None
    event = await wait_event(sessions, case.id, "work_order_completed")
    assert event.body == "Replaced the ONT." and event.data["fixed"] is True
    resolved = await wait_row(sessions, case.id, lambda c: c.state == "resolved")
    assert resolved.resolution == f"Resolved by work order {wo.number}: Replaced the ONT."
    kinds = [e.kind for e in await timeline(sessions, case.id)]
    assert kinds[-4:] == [
        "work_order_accepted",
        "work_order_in_progress",
        "work_order_completed",
        "resolve",
    ]
    mail = [(n.template, n.recipient) for n in await notifications(sessions, case.id)]
    assert ("work_order_completed", "ann@casework.test") in mail
    assert ("resolution_proposed", "ada@acme.example") in mail


async def test_not_fixed_tells_the_agent_and_leaves_the_case_open(sessions, world):
    await technician(sessions, "Oz", skills=["fiber"])
    case = await open_case(sessions, world)
    await request(world, case, skills=["fiber"], auto_resolve=True)
    wo = await wait_work_order(sessions, case.id, lambda w: w.state == "dispatched")
    await wo_act(world["client"], wo, "start")
    await wo_act(world["client"], wo, "complete", fixed=False, notes="Needs a new board.")
    event = await wait_event(sessions, case.id, "work_order_completed")
    assert event.data["fixed"] is False
    assert (await row(sessions, case.id)).state == "open"


async def test_cancelling_the_case_cancels_its_open_work_order_and_tells_the_technician(
    sessions, world
):
    pat = await technician(sessions, "Pat", skills=["fiber"])
    case = await open_case(sessions, world)
    await request(world, case, skills=["fiber"], **window(MONDAY_9))
    wo = await wait_work_order(sessions, case.id, lambda w: w.state == "dispatched")
    await wo_act(world["client"], wo, "accept")
    # Another case's work order waits for Pat's window.
    other = await open_case(sessions, world)
    await request(world, other, skills=["fiber"], **window(MONDAY_9))
    await wait_work_order(sessions, other.id, lambda w: w.state == "waiting")

    await act(world["client"], case, "cancel", reason="Customer fixed it themselves.")
    assert await world["client"].get_workflow_handle(case.workflow_id).result() == "cancelled"
    assert await world["client"].get_workflow_handle(wo.workflow_id).result() == "cancelled"
    gone = (await work_orders(sessions, case.id))[0]
    assert gone.state == "cancelled" and gone.cancel_reason == "The case was cancelled."
    event = await wait_event(sessions, case.id, "work_order_cancelled")
    assert event.data["by"] == "case"
    told = [n for n in await notifications(sessions, case.id) if n.recipient == "pat@field.test"]
    assert [n.template for n in told] == ["work_order_dispatched", "work_order_cancelled"]
    # Pat's window is free again: the waiting work order gets it.
    freed = await wait_work_order(sessions, other.id, lambda w: w.state == "dispatched")
    assert freed.technician_id == pat.id


async def test_a_category_rule_spawns_a_work_order_at_intake(sessions, world):
    quinn = await technician(sessions, "Quinn", skills=["hvac"], parts=["filter"])
    await f.add(
        sessions,
        FieldServiceRule(
            id=uuid.uuid4(),
            name="Broken HVAC units need a visit",
            category={"issue_type": "hardware", "product": "HVAC"},
            skills=["hvac"],
            parts=["filter"],
            auto_resolve=False,
            notes="Bring a spare filter.",
        ),
    )
    plain = await open_case(sessions, world, category={"issue_type": "hardware"})
    case = await open_case(sessions, world, category={"issue_type": "Hardware", "product": "hvac"})
    wo = await wait_work_order(sessions, case.id, lambda w: w.state == "dispatched")
    assert wo.technician_id == quinn.id and wo.rule_id is not None
    assert (wo.required_skills, wo.parts, wo.notes) == (
        ["hvac"],
        ["filter"],
        "Bring a spare filter.",
    )
    requested = await wait_event(sessions, case.id, "request_field_service")
    assert requested.actor_role == "system" and requested.data["rule_id"] == str(wo.rule_id)
    assert await work_orders(sessions, plain.id) == []


async def test_first_time_fix_rate_on_a_seeded_history(sessions, api):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    t0 = datetime(2031, 1, 5, 10, tzinfo=UTC)
    seq = iter(range(1000))

    async def case_row() -> Case:
        n = next(seq)
        return await f.add(
            sessions,
            Case(
                id=uuid.uuid4(),
                number=f"CS9{n:06d}",
                workflow_id=f"case-CS9{n:06d}",
                channel="phone",
                subject="Seeded",
                contact_id=ada.id,
                account_id=acct.id,
                state="closed",
                created_at=t0,
                category={},
                required_skills=[],
                sla=[],
            ),
        )

    async def wo_row(case, asset_id, *, day, state="completed", fixed=True) -> WorkOrder:
        n = next(seq)
        created = t0 + timedelta(days=day)
        return await f.add(
            sessions,
            WorkOrder(
                id=uuid.uuid4(),
                number=f"WO9{n:06d}",
                workflow_id=f"wo-WO9{n:06d}",
                request_key=str(uuid.uuid4()),
                case_id=case.id,
                asset_id=asset_id,
                state=state,
                fixed=fixed if state == "completed" else None,
                created_at=created,
                completed_at=created + timedelta(hours=4) if state == "completed" else None,
            ),
        )

    x, y, z, w, v = [(await asset(sessions, acct.id)).id for _ in range(5)]
    a, b, c, d = [await case_row() for _ in range(4)]
    await wo_row(a, x, day=0)  # fixed, nothing after: first-time fix
    await wo_row(b, y, day=0)  # fixed, but a revisit 10 days later: not
    await wo_row(b, y, day=10)  # the revisit, fixed for good: first-time fix
    await wo_row(c, z, day=0)  # fixed; the next visit comes after 40 days: first-time fix
    await wo_row(c, z, day=40, fixed=False)  # not fixed
    await wo_row(d, w, day=0)  # fixed; a later visit is for another asset: first-time fix
    await wo_row(d, v, day=3, state="dispatched")  # not completed: not counted
    await wo_row(d, v, day=5, state="cancelled")  # not completed: not counted

    r = await api.get(f"{V1}/metrics/first-time-fix")
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["completed"], got["fixed"], got["first_time_fixed"]) == (6, 5, 4)
    assert got["rate"] == pytest.approx(4 / 6, abs=1e-4) and got["window_days"] == 30
    since = (t0 + timedelta(days=9)).isoformat()
    r = await api.get(f"{V1}/metrics/first-time-fix", params={"since": since})
    assert (r.json()["completed"], r.json()["first_time_fixed"]) == (2, 1)
    r = await api.get(
        f"{V1}/metrics/first-time-fix", params={"since": since, "until": t0.isoformat()}
    )
    assert r.status_code == 422
