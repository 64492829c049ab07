"""The activities' domain functions on a session of their own, against real PostgreSQL."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from activities import field_service, intake, routing
from activities.db import transaction
from models.cases import CaseEvent, Notification
from models.people import Technician
from tests import factories as f
from tests.activities import rows
from workflows.types import FieldServiceRequest, RecordWorkOrderInput
from workflows.vocabulary import CaseState, Channel, WorkOrderState

PORTAL = "http://casework.test/portal"


async def opened(sessions, case_id) -> tuple:
    async with transaction(sessions) as db:
        got = await intake.intake(
            db,
            case_id=str(case_id),
            default_queue="support",
            reopen_window_seconds=3600,
            portal_url=PORTAL,
        )
        routed = await routing.dispatch(
            db, key=f"{case_id}:intake", enqueue_case_id=str(case_id), portal_url=PORTAL
        )
    return got, routed


async def kinds(sessions, case_id) -> list[str]:
    async with sessions() as db:
        found = await db.execute(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
        return list(found.scalars())


async def test_intake_and_first_routing_are_one_idempotent_step(sessions):
    ann = await f.agent(sessions, "Ann")
    case = await rows.case(sessions, state=CaseState.NEW, queue=None, requester_email="bo@x.test")
    got, routed = await opened(sessions, case.id)
    assert (got.queue, got.priority, got.consumer_id is not None) == ("support", 3, True)
    assert [a.agent_id for a in routed.assignments] == [str(ann.id)]
    again, rerouted = await opened(sessions, case.id)  # a retry after the commit
    assert again == got and rerouted.assignments == routed.assignments
    assert await kinds(sessions, case.id) == ["opened", "assigned"]
    async with sessions() as db:
        mail = await db.execute(select(Notification.template).order_by(Notification.template))
        assert list(mail.scalars()) == ["acknowledgement", "assignment"]


async def test_with_no_agent_the_case_waits_and_says_so(sessions):
    case = await rows.case(sessions, state=CaseState.NEW)
    _, routed = await opened(sessions, case.id)
    assert routed.assignments == []
    assert await kinds(sessions, case.id) == ["opened", "queued"]


async def test_a_work_order_is_made_once_booked_and_its_cancellation_told(sessions):
    case = await rows.case(sessions)
    tech = await f.add(
        sessions,
        Technician(id=uuid.uuid4(), name="Tom", email="tom@field.test", skills=["hvac"]),
    )
    request = FieldServiceRequest(skills=["hvac"], location="Dock 4")
    async with transaction(sessions) as db:
        made = await field_service.create(db, key="wo-1", case_id=str(case.id), request=request)
    async with transaction(sessions) as db:
        again = await field_service.create(db, key="wo-1", case_id=str(case.id), request=request)
    assert again == made and made.skills == ["hvac"] and made.location == "Dock 4"
    async with transaction(sessions) as db:
        booked = await field_service.book_technicians(
            db, key="d-1", enqueue_work_order_id=made.work_order_id, portal_url=PORTAL
        )
    assert [(b.work_order_id, b.technician_id) for b in booked.booked] == [
        (made.work_order_id, str(tech.id))
    ]
    step = RecordWorkOrderInput(
        made.work_order_id,
        version=1,
        state=WorkOrderState.CANCELLED,
        at=datetime.now(UTC).isoformat(),
        reason="fixed remotely",
        tell_technician=True,
    )
    async with transaction(sessions) as db:
        done = await field_service.record_step(db, step, portal_url=PORTAL)
    async with transaction(sessions) as db:
        retried = await field_service.record_step(db, step, portal_url=PORTAL)
    assert retried == done and len(done.notification_ids) == 1
    async with sessions() as db:
        sent = await db.execute(select(Notification.template, Notification.recipient))
        assert sorted(sent.all()) == [
            ("work_order_cancelled", "tom@field.test"),
            ("work_order_dispatched", "tom@field.test"),
        ]


async def test_cases_using_a_definition_are_the_live_ones(sessions):
    fast = await f.sla_definition(sessions, "Fast", "response", 3600)
    clock = [{"definition_id": str(fast.id), "kind": "response"}]
    live = await rows.case(sessions, 1, state=CaseState.RESOLVED, sla=clock)
    await rows.case(sessions, 2, state=CaseState.CLOSED, sla=clock)
    await rows.case(sessions, 3, state=CaseState.OPEN)
    async with transaction(sessions) as db:
        found = await intake.cases_using(db, [str(fast.id)])
    assert found.workflow_ids == [live.workflow_id]
    assert [s.name for s in found.slas] == ["Fast"]


async def test_bulk_intake_opens_a_batch_with_one_routing_decision_and_answers_again(sessions):
    """An event's children in one transaction: each row taken in (open, acknowledged), one
    routing decision for the batch; each opening carries only its own assignment, and the
    assignment of a case that waited before is handed back to be told. A rerun after the
    commit answers the same and writes nothing more."""
    from activities.opening import open_many
    from tests.conftest import make_deps
    from workflows.types import NewCase

    ann = await f.agent(sessions, "Ann", capacity=2)
    waited = await rows.case(sessions, number=9, waiting_since=datetime(2026, 1, 1, tzinfo=UTC))
    batch = [
        (
            str(uuid.uuid4()),
            f"CS{n:07d}",
            NewCase("Outage", Channel.EVENT, requester_email=f"c{n}@x.test"),
        )
        for n in (11, 12, 13)
    ]
    deps = make_deps(sessions)

    async def bulk():
        async with transaction(sessions) as db:
            return await open_many(db, deps, batch)

    got, others = await bulk()
    opened = [got[case_id] for case_id, _, _ in batch]
    assert [o.intake.queue for o in opened] == ["support"] * 3
    assert all(o.intake.consumer_id for o in opened)
    # Capacity 2: the case that waited since January goes first, then the batch's first.
    assert [a.case_id for a in others] == [str(waited.id)]
    assert [[a.agent_id for a in o.routed.assignments] for o in opened] == [[str(ann.id)], [], []]
    again, others_again = await bulk()  # the activity retried after its commit
    assert again == got and others_again == others
    for case_id, _, _ in batch:
        assert (await kinds(sessions, uuid.UUID(case_id)))[0] == "opened"
    assert "queued" in await kinds(sessions, uuid.UUID(batch[2][0]))
    async with sessions() as db:
        acks = await db.execute(
            select(Notification.key).where(Notification.template == "acknowledgement")
        )
        assert sorted(acks.scalars()) == sorted(f"{c}:ack" for c, _, _ in batch)


async def test_bulk_intake_leaves_out_a_case_that_fails_for_good_and_opens_the_rest(sessions):
    """A child whose customer is gone (its insert breaks a foreign key) is left unopened, as
    its own intake would have left it; the batch's other cases open and are routed."""
    from activities.opening import open_many
    from tests.conftest import make_deps
    from workflows.types import NewCase

    await f.agent(sessions, "Ann", capacity=5)
    bea = await f.consumer(sessions, "Bea", email="bea@x.test")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    customers = [bea.id, uuid.uuid4(), bea.id]  # the second consumer does not exist
    batch = [
        (i, f"CS{20 + n:07d}", NewCase("Outage", Channel.EVENT, consumer_id=str(c)))
        for n, (i, c) in enumerate(zip(ids, customers, strict=True))
    ]
    async with transaction(sessions) as db:
        got, _ = await open_many(db, make_deps(sessions), batch)
    assert sorted(got) == sorted([ids[0], ids[2]])
    assert all(o.routed.assignments for o in got.values())
    assert await kinds(sessions, uuid.UUID(ids[1])) == []
    async with sessions() as db:
        from models.cases import Case

        assert await db.get(Case, uuid.UUID(ids[1])) is None
        assert (await db.get(Case, uuid.UUID(ids[2]))).state == CaseState.OPEN


async def test_a_bulk_intake_rerun_keeps_the_agent_another_dispatch_gave_meanwhile(sessions):
    """The first attempt found no agent (its case waits); before its rerun an agent came
    and another dispatch assigned the case: the rerun must not take that agent away."""
    from activities.opening import open_many
    from models.cases import Assignment, Case
    from tests.conftest import make_deps
    from workflows.types import NewCase

    case_id = str(uuid.uuid4())
    batch = [(case_id, "CS0000031", NewCase("Outage", Channel.EVENT, requester_email="c@x.test"))]
    deps = make_deps(sessions)
    async with transaction(sessions) as db:
        got, _ = await open_many(db, deps, batch)
    assert got[case_id].routed.assignments == []
    ann = await f.agent(sessions, "Ann")
    async with transaction(sessions) as db:
        await routing.dispatch(db, key="agent-available:ann", portal_url=PORTAL)
    async with transaction(sessions) as db:  # the batch's activity, retried
        await open_many(db, deps, batch)
    async with sessions() as db:
        assert (await db.get(Case, uuid.UUID(case_id))).assigned_agent_id == ann.id
        made = await db.execute(select(Assignment.id).where(Assignment.case_id == case_id))
        assert len(made.all()) == 1  # not taken away and given again


async def test_with_every_agent_at_capacity_routing_does_not_touch_the_waiting_line(sessions):
    """In a backlog (no agent with room), a routing decision reads no waiting case: a case of
    the line held FOR UPDATE elsewhere does not hold the decision up."""
    import asyncio

    from models.cases import Case

    ann = await f.agent(sessions, "Ann", capacity=1)
    await rows.case(sessions, number=1, assigned_agent_id=ann.id)  # Ann is full
    waiting = await rows.case(sessions, number=2, waiting_since=datetime(2026, 1, 1, tzinfo=UTC))
    async with sessions() as holder, holder.begin():
        await holder.execute(select(Case.id).where(Case.id == waiting.id).with_for_update())

        async def decide():
            async with transaction(sessions) as db:
                return await routing.dispatch(db, key="backlog", portal_url=PORTAL)

        routed = await asyncio.wait_for(decide(), timeout=5)
    assert routed.assignments == []
