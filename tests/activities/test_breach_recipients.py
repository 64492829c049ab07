"""An SLA breach always reaches someone: the queue's supervisors, else the escalation address."""

from datetime import UTC, datetime

from sqlalchemy import select, update
from temporalio.testing import ActivityEnvironment

from activities.db import transaction
from activities.deps import default_escalation_email
from activities.record import RecordActivities, record_event
from models.cases import Notification
from models.people import Agent
from tests import factories as f
from tests.activities import rows
from tests.conftest import make_deps
from workflows.types import Notify, RecordInput
from workflows.vocabulary import Role

FALLBACK = "escalations@casework.test"
BREACH_RECIPIENTS = ("agent", "supervisor", "account_manager")


def breach(case) -> RecordInput:
    """The breach event as CaseWorkflow records it: agent, supervisor and account manager."""
    what = "First reply (response) at 100%"
    return RecordInput(
        str(case.id),
        key="sla:def-1:1.0",
        kind="sla_breached",
        at=datetime.now(UTC).isoformat(),
        public=False,
        notify=[Notify("sla_breached", to, body=what) for to in BREACH_RECIPIENTS],
    )


async def record(sessions, arg: RecordInput) -> list[tuple[str, str]]:
    async with transaction(sessions) as db:
        await record_event(
            db, arg, portal_url="http://casework.test/portal", escalation_email=FALLBACK
        )
    async with sessions() as db:
        found = await db.execute(
            select(Notification.template, Notification.recipient).order_by(Notification.recipient)
        )
        return [tuple(r) for r in found.all()]


async def supervisor(sessions, name: str, groups: list[str]) -> Agent:
    sup = await f.agent(sessions, name, groups=groups)
    async with sessions() as db, db.begin():
        await db.execute(update(Agent).where(Agent.id == sup.id).values(role=Role.SUPERVISOR))
    return sup


async def test_a_breach_nobody_supervises_goes_to_the_escalation_address(sessions):
    # Unassigned, in a queue with no supervisor, no account (so no account manager).
    case = await rows.case(sessions)
    assert await record(sessions, breach(case)) == [("sla_breached", FALLBACK)]


async def test_a_breach_goes_to_every_supervisor_of_the_queue_and_not_the_fallback(sessions):
    await supervisor(sessions, "Sue", ["support"])
    await supervisor(sessions, "Sam", ["support", "billing"])
    await supervisor(sessions, "Bob", ["billing"])
    case = await rows.case(sessions)
    assert await record(sessions, breach(case)) == [
        ("sla_breached", "sam@casework.test"),
        ("sla_breached", "sue@casework.test"),
    ]


async def test_a_queue_without_supervisor_borrows_one_before_the_fallback(sessions):
    # A breach that requeues the case (support -> tier2) is told to the supervisor it left.
    await supervisor(sessions, "Sue", ["support"])
    case = await rows.case(sessions, queue="tier2")
    assert await record(sessions, breach(case)) == [("sla_breached", "sue@casework.test")]


async def test_the_activity_uses_the_configured_address_and_a_retry_adds_nothing(sessions):
    case = await rows.case(sessions)
    deps = make_deps(sessions)
    deps.escalation_email = FALLBACK
    run = RecordActivities(deps).record_case_event
    first = await ActivityEnvironment().run(run, breach(case))
    again = await ActivityEnvironment().run(run, breach(case))
    assert len(first.notification_ids) == 1 and again.notification_ids == first.notification_ids
    async with sessions() as db:
        (row,) = (await db.execute(select(Notification))).scalars()
    assert (row.case_id, row.recipient) == (case.id, FALLBACK)
    mail = deps.renderer.render(row.template, row.context)  # what the relay sends
    assert case.number in mail.subject and "Hello there" in mail.text


def test_the_default_escalation_address_is_on_the_sending_domain():
    assert default_escalation_email("Casework <support@acme.example>") == (
        "support-escalations@acme.example"
    )
    assert make_deps(None).escalation_email == "support-escalations@casework.test"
