"""ITSM escalation on the time-skipping server: one open incident per case, status updates
that reach the timeline and the agent, resolution that may resolve the case, and a webhook
delivery that gives up cleanly when the receiver refuses."""

import dataclasses
import uuid

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.itsm import Incident
from tests import factories as f
from tests.conftest import make_deps, running_worker
from tests.itsm_receiver import Receiver
from tests.workflows.field_helpers import incidents, timeline, wait_event
from tests.workflows.helpers import act, notifications, open_for, wait_row
from workflows.case import CaseWorkflow
from workflows.types import IncidentUpdate, ItsmEscalation
from workflows.vocabulary import INVALID as INVALID_ACTION
from workflows.vocabulary import NOT_ALLOWED as ACTION_NOT_ALLOWED


@pytest.fixture
async def people(sessions):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id, email="ada@acme.example")
    await f.agent(sessions, "Ann")
    return {"ada": ada}


@pytest.fixture
async def world(sessions, fresh_env, people):
    async with running_worker(fresh_env.client, make_deps(sessions)) as tq:
        yield {"client": fresh_env.client, "tq": tq, **people}


async def open_case(sessions, world):
    case = await open_for(sessions, world["client"], world["tq"], world["ada"], subject="VPN down")
    await wait_row(sessions, case.id, lambda c: c.assigned_agent_id)
    return case


async def escalate(client, case, **esc):
    return await act(client, case, "escalate-itsm", escalation=ItsmEscalation(**esc))


async def move(client, case, incident_id, status, **kw):
    return await client.get_workflow_handle(case.workflow_id).execute_update(
        CaseWorkflow.incident_update,
        IncidentUpdate(str(incident_id), status, actor_role="integration", **kw),
        id=str(uuid.uuid4()),
    )


async def test_builtin_incident_moves_on_and_resolves_the_case(sessions, world):
    client = world["client"]
    case = await open_case(sessions, world)
    await escalate(client, case, urgency=1, impact=2, auto_resolve=True)
    (inc,) = await incidents(sessions, case.id)
    assert (inc.adapter, inc.state, inc.summary, inc.urgency) == ("builtin", "new", "VPN down", 1)
    assert inc.number.startswith("INC")

    with pytest.raises(WorkflowUpdateFailedError) as err:  # at most one open incident
        await escalate(client, case)
    assert err.value.cause.type == ACTION_NOT_ALLOWED
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await move(client, case, uuid.uuid4(), "in_progress")
    assert err.value.cause.type == INVALID_ACTION

    got = await move(client, case, inc.id, "in_progress", comment="Network team on it.")
    assert (got.state, got.case_state) == ("in_progress", "open")
    got = await move(client, case, inc.id, "resolved", resolution="Rebooted the VPN concentrator.")
    assert (got.state, got.case_state) == ("resolved", "resolved")

    resolved = await wait_row(sessions, case.id, lambda c: c.state == "resolved")
    assert resolved.resolution == "Rebooted the VPN concentrator."
    (inc,) = await incidents(sessions, case.id)
    assert (inc.state, inc.last_comment) == ("resolved", "Network team on it.")
    assert inc.resolved_at is not None
    kinds = [e.kind for e in await timeline(sessions, case.id)]
    assert kinds[-4:] == ["escalate_itsm", "incident_in_progress", "incident_resolved", "resolve"]
    mail = [(n.template, n.recipient) for n in await notifications(sessions, case.id)]
    assert ("incident_update", "ann@casework.test") in mail

    await move(client, case, inc.id, "closed")
    with pytest.raises(WorkflowUpdateFailedError) as err:  # closed stays closed
        await move(client, case, inc.id, "in_progress")
    assert err.value.cause.type == ACTION_NOT_ALLOWED


async def test_a_resolved_incident_leaves_the_case_open_without_auto_resolve(sessions, world):
    client = world["client"]
    case = await open_case(sessions, world)
    await escalate(client, case, summary="Escalated: VPN concentrator")
    (inc,) = await incidents(sessions, case.id)
    await move(client, case, inc.id, "resolved", resolution="Patched.")
    event = await wait_event(sessions, case.id, "incident_resolved")
    assert event.body == "Patched." and event.data["previous"] == "new"
    state = await client.get_workflow_handle(case.workflow_id).query(CaseWorkflow.state)
    assert state.state == "open"
    await escalate(client, case)  # the first one is no longer open: a second may be
    assert [i.state for i in await incidents(sessions, case.id)] == ["resolved", "new"]


async def test_a_webhook_that_refuses_fails_the_incident_and_tells_the_agent(
    sessions, fresh_env, people
):
    receiver = Receiver(script=[400]).start()
    deps = dataclasses.replace(
        make_deps(sessions), itsm_adapter="webhook", itsm_webhook_url=receiver.url
    )
    try:
        async with running_worker(fresh_env.client, deps) as tq:
            world = {"client": fresh_env.client, "tq": tq, **people}
            case = await open_case(sessions, world)
            await escalate(world["client"], case)
            event = await wait_event(sessions, case.id, "incident_failed")
            assert "400" in event.body
            (inc,) = await incidents(sessions, case.id)
            assert inc.state == "failed" and "400" in inc.delivery_error
            assert len(receiver.received) == 1  # a refusal is not retried
            mail = [n.template for n in await notifications(sessions, case.id)]
            assert "incident_update" in mail
            await escalate(world["client"], case)  # a failed incident is not open
            linked = await wait_event(sessions, case.id, "itsm_linked")
            assert linked.data["external_id"] == "EXT-1"
    finally:
        receiver.stop()


async def test_reopening_an_incident_while_another_is_open_is_refused_and_the_case_goes_on(
    sessions, world
):
    """The wedge of issue 12: a resolved first incident moved back to new while a second is
    open would break uq_incidents_open_per_case on every retry. The validator refuses it."""
    client = world["client"]
    case = await open_case(sessions, world)
    await escalate(client, case)
    (first,) = await incidents(sessions, case.id)
    await move(client, case, first.id, "resolved", resolution="Patched.")
    await escalate(client, case)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await move(client, case, first.id, "new")
    assert err.value.cause.type == ACTION_NOT_ALLOWED
    assert "cannot reopen" in err.value.cause.message
    await act(client, case, "note", body="Still here.")  # at once, nothing jammed
    assert "note" in [e.kind for e in await timeline(sessions, case.id)]


async def test_a_step_that_fails_for_good_is_recorded_and_the_case_lives_on(sessions, world):
    """A step that can never succeed (here: the database holds an open incident the workflow
    does not know of, so moving its own incident back to in_progress breaks the unique index)
    fails once, non-retryably: the update is refused, the case records the failure, a
    supervisor (the fallback address, as nobody supervises) is told, and it takes actions."""
    client = world["client"]
    case = await open_case(sessions, world)
    await escalate(client, case)
    (inc,) = await incidents(sessions, case.id)
    await move(client, case, inc.id, "resolved")
    async with sessions() as db, db.begin():  # an open incident behind the workflow's back
        await db.execute(
            Incident.__table__.insert().values(
                id=uuid.uuid4(),
                number="INC9999999",
                request_key=f"stray-{uuid.uuid4()}",
                case_id=case.id,
                adapter="builtin",
                state="new",
                summary="Opened by hand",
            )
        )
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await move(client, case, inc.id, "in_progress")
    assert err.value.cause.type == "StepFailed"
    assert "uq_incidents_open_per_case" in err.value.cause.message
    failed = await wait_event(sessions, case.id, "step_failed")
    assert failed.data["step"] == "incident update" and not failed.public
    told = await notifications(sessions, case.id)
    assert ("step_failed", "support-escalations@casework.test") in [
        (n.template, n.recipient) for n in told
    ]
    state = await client.get_workflow_handle(case.workflow_id).query(CaseWorkflow.state)
    assert [i.state for i in state.incidents] == ["resolved"]  # the failed change did not apply
    await act(client, case, "note", body="Looked at it.")
    assert (await wait_row(sessions, case.id, lambda c: c.state == "open")).state == "open"
