"""SLA clocks inside CaseWorkflow, on the time-skipping server: exact warnings and breaches,
pauses that add nothing, priority changes and policy edits that re-time running cases."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from temporalio.api.enums.v1 import EventType

from models.cases import CaseEvent
from models.people import Agent, Queue
from models.service import Schedule as ScheduleRow
from models.service import SlaDefinition
from tests import factories as f
from tests.conftest import make_deps, running_worker
from tests.workflows.helpers import act, notifications, open_for, row, wait_row
from workflows.calendar import Schedule, add_business_seconds
from workflows.policy import PolicyChangeWorkflow
from workflows.types import PolicyChangeInput

HOURS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
H = 3600


@pytest.fixture
async def world(sessions, fresh_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id, email="ada@acme.example")
    async with running_worker(fresh_env.client, make_deps(sessions)) as tq:
        yield {"env": fresh_env, "client": fresh_env.client, "tq": tq, "ada": ada, "acct": acct}


async def sla_events(sessions, case_id) -> list[CaseEvent]:
    async with sessions() as db:
        rows = await db.execute(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind.like("sla_%"))
            .order_by(CaseEvent.id)
        )
        return list(rows.scalars())


async def schedule_row(sessions, hours=HOURS, tz="Europe/Berlin") -> ScheduleRow:
    return await f.add(
        sessions,
        ScheduleRow(id=uuid.uuid4(), name="office", timezone=tz, hours=hours, holidays=[]),
    )


def clock(case_row, kind="response") -> dict:
    return next(s for s in case_row.sla if s["kind"] == kind)


async def test_warnings_and_breach_fire_at_the_exact_business_time_instants(sessions, world):
    office = await schedule_row(sessions)
    response = await f.sla_definition(
        sessions, "Gold response", "response", 4 * H, schedule_id=office.id, warn_at=[0.5, 0.75]
    )
    await f.entitlement(sessions, "Gold", (response.id,), account_id=world["acct"].id)
    await f.agent(sessions, "Ann")
    case = await open_for(sessions, world["client"], world["tq"], world["ada"])
    opened = await wait_row(sessions, case.id, lambda c: c.assigned_agent_id and c.sla)
    schedule = Schedule.from_dict({"timezone": "Europe/Berlin", "hours": HOURS})
    expected = [add_business_seconds(schedule, opened.created_at, s) for s in (2 * H, 3 * H, 4 * H)]
    assert datetime.fromisoformat(clock(opened)["due_at"]) == expected[-1]
    await world["env"].sleep(expected[-1] - datetime.now(UTC) + timedelta(hours=1))
    events = await sla_events(sessions, case.id)
    assert [e.kind for e in events] == ["sla_warning", "sla_warning", "sla_breached"]
    for event, instant in zip(events, expected, strict=True):
        assert abs((event.at - instant).total_seconds()) < 1, (event.kind, event.at, instant)
    got = await row(sessions, case.id)
    assert got.breached and clock(got)["breached"] and clock(got)["warned"]
    mail = [(n.template, n.recipient) for n in await notifications(sessions, case.id)]
    agent_mail = [t for t, to in mail if "sla" in t and to == "ann@casework.test"]
    assert agent_mail == ["sla_warning", "sla_warning", "sla_breached"]
    # Nobody supervises and the account has no manager: the breach reaches the fallback.
    assert [to for t, to in mail if t == "sla_breached" and to != "ann@casework.test"] == [
        "support-escalations@casework.test"
    ]


async def test_three_days_awaiting_the_customer_add_nothing(sessions, world):
    resolution = await f.sla_definition(sessions, "Fix", "resolution", 8 * H)  # 24x7
    await f.entitlement(sessions, "Std", (resolution.id,), account_id=world["acct"].id)
    await f.agent(sessions, "Ann")
    case = await open_for(sessions, world["client"], world["tq"], world["ada"])
    await wait_row(sessions, case.id, lambda c: c.assigned_agent_id and c.sla)
    await world["env"].sleep(timedelta(hours=1))
    await act(world["client"], case, "await-info", body="Which firmware?")
    paused = clock(await row(sessions, case.id), "resolution")
    assert paused["paused"] and paused["due_at"] is None
    await world["env"].sleep(timedelta(days=3))
    await act(world["client"], case, "customer-reply", role="contact", body="2.1")
    resumed = clock(await row(sessions, case.id), "resolution")
    assert not resumed["paused"]
    assert abs(resumed["remaining_seconds"] - 7 * H) <= 2
    assert not await sla_events(sessions, case.id)  # 3 days and no warning: the clock stood


async def test_priority_change_swaps_default_slas_and_carries_elapsed_time(sessions, world):
    await f.sla_definition(sessions, "P3 response", "response", 8 * H, default_for_priority=3)
    await f.sla_definition(sessions, "P1 response", "response", 2 * H, default_for_priority=1)
    await f.agent(sessions, "Ann")
    case = await open_for(sessions, world["client"], world["tq"], world["ada"])
    opened = await wait_row(sessions, case.id, lambda c: c.assigned_agent_id and c.sla)
    assert clock(opened)["name"] == "P3 response"
    await world["env"].sleep(timedelta(hours=1))
    await act(world["client"], case, "change-priority", role="supervisor", priority=1)
    changed = await row(sessions, case.id)
    swapped = clock(changed)
    assert swapped["name"] == "P1 response" and changed.priority == 1
    assert abs(swapped["remaining_seconds"] - 1 * H) <= 2  # 2 h target, 1 h already run
    due = datetime.fromisoformat(swapped["due_at"])
    assert abs((due - opened.created_at) - timedelta(hours=2)) < timedelta(seconds=2)


async def test_an_edited_definition_and_schedule_retime_a_running_case(sessions, world):
    office = await schedule_row(sessions, tz="UTC")
    resolution = await f.sla_definition(
        sessions, "Fix", "resolution", 10 * H, schedule_id=office.id
    )
    await f.entitlement(sessions, "Std", (resolution.id,), account_id=world["acct"].id)
    await f.agent(sessions, "Ann")
    case = await open_for(sessions, world["client"], world["tq"], world["ada"])
    opened = await wait_row(sessions, case.id, lambda c: c.assigned_agent_id and c.sla)
    before = datetime.fromisoformat(clock(opened, "resolution")["due_at"])

    async def edit_and_retime(**changes):
        async with sessions() as db, db.begin():
            if "duration_seconds" in changes:
                await db.execute(
                    update(SlaDefinition)
                    .where(SlaDefinition.id == resolution.id)
                    .values(duration_seconds=changes["duration_seconds"])
                )
            if "hours" in changes:
                await db.execute(
                    update(ScheduleRow)
                    .where(ScheduleRow.id == office.id)
                    .values(hours=changes["hours"])
                )
        change = str(uuid.uuid4())
        await world["client"].execute_workflow(
            PolicyChangeWorkflow.run,
            PolicyChangeInput(change, [str(resolution.id)]),
            id=f"policy-{change}",
            task_queue=world["tq"],
        )

    await edit_and_retime(duration_seconds=20 * H)
    longer = await wait_row(
        sessions, case.id, lambda c: clock(c, "resolution")["due_at"] != before.isoformat()
    )
    schedule = Schedule.from_dict({"timezone": "UTC", "hours": HOURS})
    assert datetime.fromisoformat(clock(longer, "resolution")["due_at"]) == add_business_seconds(
        schedule, opened.created_at, 20 * H
    )
    every_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    await edit_and_retime(hours=every_day)
    got = await wait_row(
        sessions,
        case.id,
        lambda c: clock(c, "resolution")["due_at"] != clock(longer, "resolution")["due_at"],
    )
    due = datetime.fromisoformat(clock(got, "resolution")["due_at"])
    assert abs((due - opened.created_at) - timedelta(hours=20)) < timedelta(seconds=1)
    kinds = [e.kind for e in await sla_events(sessions, case.id)]
    assert kinds == ["sla_policy_changed", "sla_policy_changed"]


async def test_breach_escalates_once_priority_and_queue(sessions, world):
    response = await f.sla_definition(sessions, "Fast", "response", 1 * H, warn_at=[])
    await f.entitlement(sessions, "Std", (response.id,), account_id=world["acct"].id)
    await f.add(sessions, Queue(name="support", escalation_queue="tier2"))
    sup = await f.agent(sessions, "Sue", groups=["support"])
    async with sessions() as db, db.begin():
        await db.execute(update(Agent).where(Agent.id == sup.id).values(role="supervisor"))
    manager = await f.agent(sessions, "Max", status="away")
    await f.team_member(sessions, world["acct"].id, manager.id, role="account_manager")
    case = await open_for(sessions, world["client"], world["tq"], world["ada"], priority=3)
    waiting = await wait_row(sessions, case.id, lambda c: c.sla and c.waiting_since)
    assert waiting.assigned_agent_id is None  # the supervisor takes no cases; the manager is away
    await world["env"].sleep(timedelta(hours=3))
    got = await row(sessions, case.id)
    assert (got.priority, got.queue, got.breached) == (2, "tier2", True)
    events = await sla_events(sessions, case.id)
    assert [e.kind for e in events] == ["sla_breached"]
    assert events[0].data["priority"] == {"from": 3, "to": 2}
    sent = [(n.template, n.recipient) for n in await notifications(sessions, case.id)]
    assert ("sla_breached", "sue@casework.test") in sent
    assert ("sla_breached", "max@casework.test") in sent
    assert sum(t == "sla_breached" for t, _ in sent) == 2  # no agent assigned: no agent mail


def timer_events(history) -> tuple[int, int]:
    kinds = [e.event_type for e in history.events]
    return kinds.count(EventType.EVENT_TYPE_TIMER_STARTED), kinds.count(
        EventType.EVENT_TYPE_TIMER_CANCELED
    )


async def test_notes_keep_the_deadline_timer_and_a_reply_moves_it(sessions, world):
    response = await f.sla_definition(sessions, "First reply", "response", 4 * H, warn_at=[0.5])
    fix = await f.sla_definition(sessions, "Fix", "resolution", 8 * H, warn_at=[0.5])
    await f.entitlement(sessions, "Std", (response.id, fix.id), account_id=world["acct"].id)
    await f.agent(sessions, "Ann")
    case = await open_for(sessions, world["client"], world["tq"], world["ada"])
    await wait_row(sessions, case.id, lambda c: c.assigned_agent_id and c.sla)
    handle = world["client"].get_workflow_handle(case.workflow_id)
    for i in range(5):
        await world["env"].sleep(timedelta(minutes=10))
        await act(world["client"], case, "note", body=f"Looked at the logs ({i})")
    assert timer_events(await handle.fetch_history()) == (1, 0)  # one timer, never replaced
    await act(world["client"], case, "respond", body="Please try firmware 2.1.")
    assert timer_events(await handle.fetch_history()) == (2, 1)  # the response clock stopped
    await world["env"].sleep(timedelta(hours=5))
    kinds = [(e.kind, e.data["sla"]) for e in await sla_events(sessions, case.id)]
    assert kinds == [("sla_warning", "Fix")]  # 4 h of 8: the moved timer rang
