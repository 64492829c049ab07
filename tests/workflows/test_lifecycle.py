"""The case lifecycle on the time-skipping server: actions by state, soft-close, cancel."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from activities.relay import OutboxRelay, deliver
from casework.devstack import start_smtp_sink
from models.customers import AccountContact
from models.service import Entitlement
from tests import factories as f
from tests.conftest import make_deps, running_worker
from tests.workflows.helpers import act, events, open_for, row, settled, wait_row
from workflows.actions import ACTIONS
from workflows.vocabulary import NOT_ALLOWED as ACTION_NOT_ALLOWED

BODIES = {
    "assign": {},
    "respond": {"body": "hello"},
    "note": {"body": "internal"},
    "await-info": {"body": "which firmware?"},
    "customer-reply": {"body": "2.0"},
    "change-priority": {"priority": 1},
    "resolve": {"body": "fixed"},
    "accept": {},
    "reject": {"reason": "still broken"},
    "cancel": {"reason": "duplicate"},
    "request-field-service": {},
    "escalate-itsm": {},
    "assign-partner": {},
}
# How to bring a fresh open case into each state an action can be tried in.
PATHS = {"open": [], "awaiting_info": ["await-info"], "resolved": ["resolve"]}


@pytest.fixture
async def world(sessions, fresh_env):
    ts_env = fresh_env
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id, email="ada@acme.example")
    first = await f.agent(sessions, "First")
    other = await f.agent(sessions, "Other")
    partner = await f.account(sessions, "FixIt", domains=())
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        world = {"ada": ada, "tq": tq, "agents": (first, other), "client": ts_env.client}
        yield world | {"partner": partner}


async def case_in(sessions, world, state):
    case = await open_for(sessions, world["client"], world["tq"], world["ada"])
    await wait_row(sessions, case.id, lambda c: c.assigned_agent_id)
    for step in PATHS[state]:
        await act(world["client"], case, step, **BODIES[step])
    return case


def kwargs(action, world, case_row):
    kw = dict(BODIES[action])
    if action == "assign":
        first, other = world["agents"]
        kw["agent_id"] = str(other.id if case_row.assigned_agent_id == first.id else first.id)
    if action == "assign-partner":
        kw["partner_account_id"] = str(world["partner"].id)
    return kw


@pytest.mark.parametrize("state", list(PATHS))
async def test_every_action_is_allowed_or_refused_by_state(sessions, world, state):
    refused_case = await case_in(sessions, world, state)
    for action, rule in ACTIONS.items():
        allowed_in = rule.allowed_in
        if state in allowed_in:
            case = await case_in(sessions, world, state)
            kw = kwargs(action, world, await row(sessions, case.id))
            result = await act(world["client"], case, action, **kw)
            assert result.state == (await row(sessions, case.id)).state
            assert action.replace("-", "_") in await events(sessions, case.id)
        else:
            before = await events(sessions, refused_case.id)
            kw = kwargs(action, world, await row(sessions, refused_case.id))
            with pytest.raises(WorkflowUpdateFailedError) as err:
                await act(world["client"], refused_case, action, **kw)
            assert err.value.cause.type == ACTION_NOT_ALLOWED
            assert await events(sessions, refused_case.id) == before  # no trace
            assert (await row(sessions, refused_case.id)).state == state


async def test_accept_closes_and_sends_a_survey(sessions, world):
    case = await case_in(sessions, world, "resolved")
    await act(world["client"], case, "accept", role="contact")
    handle = world["client"].get_workflow_handle(case.workflow_id)
    assert await handle.result() == "closed"
    got = await row(sessions, case.id)
    assert got.state == "closed" and got.closed_at is not None
    templates = [n.template for n in await settled(sessions, case.id, 5)]
    assert templates[-2:] == ["closed", "csat_survey"]


async def test_reject_reopens_and_resolution_clock_resumes(sessions, world):
    case = await case_in(sessions, world, "resolved")
    await act(world["client"], case, "reject", role="contact", reason="still broken")
    got = await row(sessions, case.id)
    assert (got.state, got.reopen_count, got.reopen_window_ends_at) == ("open", 1, None)
    await act(world["client"], case, "resolve", body="really fixed")
    await act(world["client"], case, "customer-reply", role="contact", body="no, again")
    got = await row(sessions, case.id)
    assert (got.state, got.reopen_count) == ("open", 2)
    assert await events(sessions, case.id) == [
        "opened",
        "assigned",
        "resolve",
        "reject",
        "resolve",
        "customer_reply",
    ]


async def test_lapsed_window_closes_after_exactly_seven_days(sessions, world, fresh_env):
    ts_env = fresh_env
    case = await case_in(sessions, world, "resolved")
    await ts_env.sleep(timedelta(days=7, seconds=1))  # the test server skips the 7 days
    handle = world["client"].get_workflow_handle(case.workflow_id)
    assert await handle.result() == "closed"
    got = await row(sessions, case.id)
    assert got.closed_at - got.resolved_at == timedelta(days=7)
    assert got.reopen_window_ends_at == got.closed_at
    kinds = await events(sessions, case.id)
    assert kinds[-1] == "closed"
    templates = [n.template for n in await settled(sessions, case.id, 5)]
    assert "closed" in templates and "csat_survey" in templates


async def test_resolved_case_is_never_closed_before_its_window(sessions, world, fresh_env):
    ts_env = fresh_env
    case = await case_in(sessions, world, "resolved")
    await ts_env.sleep(timedelta(days=6, hours=23))
    assert (await row(sessions, case.id)).state == "resolved"


async def test_cancel_ends_the_case_and_frees_the_agent(sessions, world):
    case = await case_in(sessions, world, "open")
    await act(world["client"], case, "cancel", reason="duplicate")
    handle = world["client"].get_workflow_handle(case.workflow_id)
    assert await handle.result() == "cancelled"
    got = await row(sessions, case.id)
    assert got.state == "cancelled"
    assert [n.template for n in await settled(sessions, case.id, 3)][-1] == "cancelled"


async def test_acknowledgement_is_sent_once_over_smtp(sessions, ts_env):
    sink = start_smtp_sink()
    try:
        acct = await f.account(sessions)
        ada = await f.contact(sessions, acct.id, email="ada@acme.example")
        deps = make_deps(sessions, sink.url)
        async with running_worker(ts_env.client, deps) as tq:
            case = await open_for(sessions, ts_env.client, tq, ada, subject="Printer on fire")
            (ack,) = await settled(sessions, case.id, 1)
        assert ack.status == "sent" and ack.template == "acknowledgement"
        # Delivering the same outbox row again (a retried activity) sends nothing more.
        again = await deliver(deps, str(ack.id), accepted=False, on_accepted=lambda: None)
        assert again == "skipped"
        (mail,) = sink.wait_for(1)
        assert mail.rcpt_tos == ["ada@acme.example"]
        assert case.number in mail.message["Subject"]
        assert mail.message["Message-ID"] == ack.message_id
        assert len(sink.messages) == 1
    finally:
        sink.stop()


async def test_intake_sets_sla_due_times_from_the_entitlement(sessions, world):
    response = await f.sla_definition(sessions, "Gold response", "response", 4 * 3600)
    resolution = await f.sla_definition(sessions, "Gold resolution", "resolution", 24 * 3600)
    ada = world["ada"]
    acct_id = await account_of(sessions, ada)
    await f.entitlement(
        sessions, "Gold", (response.id, resolution.id), account_id=acct_id, tier="gold"
    )
    case = await open_for(sessions, world["client"], world["tq"], ada)
    got = await wait_row(sessions, case.id, lambda c: c.sla)
    assert got.priority == 2  # gold tier
    due = {s["kind"]: datetime.fromisoformat(s["due_at"]) for s in got.sla}
    assert due["response"] - got.created_at == timedelta(hours=4)
    assert due["resolution"] - got.created_at == timedelta(hours=24)
    await act(world["client"], case, "respond", body="on it")
    got = await row(sessions, case.id)
    stopped = {s["kind"]: s["stopped"] for s in got.sla}
    assert stopped == {"response": True, "resolution": False}


async def test_a_case_unit_entitlement_is_used_up_one_case_at_a_time(sessions, world):
    """Units of kind "cases": each intake takes one; once none are left, the finer
    entitlement no longer applies and the account's own one does."""
    ada = world["ada"]
    broad = await f.entitlement(
        sessions, "Account standard", account_id=await account_of(sessions, ada)
    )
    pack = await f.entitlement(
        sessions, "Two-case pack", contact_id=ada.id, units={"kind": "cases", "total": 2}
    )
    got = []
    for _ in range(3):
        case = await open_for(sessions, world["client"], world["tq"], ada)
        got.append(await wait_row(sessions, case.id, lambda c: c.state == "open"))
    assert [c.entitlement_id for c in got] == [pack.id, pack.id, broad.id]
    async with sessions() as db:
        assert (await db.get(Entitlement, pack.id)).units_used == 2
        assert (await db.get(Entitlement, broad.id)).units_used == 0


async def account_of(sessions, contact):
    async with sessions() as db:
        query = select(AccountContact.account_id).where(AccountContact.contact_id == contact.id)
        return (await db.execute(query)).scalar()


async def test_intake_mails_are_sent_by_the_relay_once(sessions, ts_env):
    """Acknowledgement and assignment: no activity in the case, kept-open SMTP, once each."""
    sink = start_smtp_sink()
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id, email="ada@acme.example")
    await f.agent(sessions, "Grace")
    deps = make_deps(sessions, sink.url)
    try:
        async with running_worker(ts_env.client, deps) as tq:
            case = await open_for(sessions, ts_env.client, tq, ada, subject="Router down")
            sent = await settled(sessions, case.id, 2)
        assert sorted(n.template for n in sent) == ["acknowledgement", "assignment"]
        assert all(n.status == "sent" and n.attempts == 1 for n in sent)
        history = await ts_env.client.get_workflow_handle(case.workflow_id).fetch_history()
        scheduled = [
            e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
        ]
        assert scheduled == []
        # Another relay (a second worker process, or this one restarted) sends nothing more.
        assert await OutboxRelay(deps).drain() == 0
        mails = sink.wait_for(2)
        assert sorted(m.message["Message-ID"] for m in mails) == sorted(n.message_id for n in sent)
        assert len(sink.messages) == 2
        # Both rows commit together (one intake transaction): two senders may take one each.
        assert deps.mailer.connections_opened <= 2
    finally:
        deps.mailer.close()
        sink.stop()


async def test_intake_and_routing_are_one_local_activity_and_one_commit(sessions, ts_env):
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id, email="ada@acme.example")
    await f.agent(sessions, "Grace")
    async with running_worker(ts_env.client, make_deps(sessions)) as tq:
        case = await open_for(sessions, ts_env.client, tq, ada)
        await wait_row(sessions, case.id, lambda c: c.assigned_agent_id)
        history = await ts_env.client.get_workflow_handle(case.workflow_id).fetch_history()
    steps = [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
        for e in history.events
        if e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    assert [s["activity_type"] for s in steps] == ["open_case"]
    assert await events(sessions, case.id) == ["opened", "assigned"]  # in that order
