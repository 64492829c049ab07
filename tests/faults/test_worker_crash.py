"""A worker killed with SIGKILL mid-work: no case lost, none routed or acknowledged twice."""

import asyncio

import pytest
from sqlalchemy import func, select

from models.cases import Assignment, Case, Notification

pytestmark = pytest.mark.slow


async def open_by_email(stack, n: int) -> dict:
    r = await stack.http.post(
        "/api/v1/cases",
        json={"subject": f"Case {n}", "channel": "email", "email": f"customer{n}@mail.example"},
    )
    # 202 while no worker runs intake: the case is accepted and will be opened.
    assert r.status_code in (201, 202), r.text
    return r.json()


class KillAtFirstData:
    """SMTP reply hook: at the end of DATA of the first mail, SIGKILL the worker, then accept
    the mail. The server has it, and the relay's transaction, which would mark its row sent
    after the server's 250, dies with the process: the risky window, hit every time."""

    def __init__(self) -> None:
        self.worker, self.killed = None, False

    def __call__(self, envelope) -> str | None:
        if not self.killed:
            self.killed = True
            self.worker.kill()
        return None


KILL_AT_DATA = KillAtFirstData()


@pytest.mark.parametrize("stack", [{"reply": KILL_AT_DATA}], indirect=True)
async def test_worker_killed_between_smtp_accepting_and_the_commit_mails_once(stack):
    KILL_AT_DATA.worker = stack.worker
    await open_by_email(stack, 1)
    (first,) = await asyncio.to_thread(stack.sink.wait_for, 1, 60)
    assert stack.worker.proc.poll() is not None  # killed before it could read the 250

    async def row():
        async with stack.sessions() as db:
            return (await db.execute(select(Notification))).scalar_one()

    assert (await row()).status == "pending"  # the server has the mail; the row says unsent
    stack.worker.start()

    async def marked_sent():
        got = await row()
        return got if got.status == "sent" else None

    sent = await stack.wait(marked_sent, timeout=90)
    await asyncio.sleep(3)  # long enough for another resend, were there one
    # The row could not know whether the server took the mail, so it went again, as the same
    # message: a receiver keeps one copy per Message-ID, and the customer sees one mail.
    received = [m.message["Message-ID"] for m in stack.sink.messages]
    assert received == [sent.message_id, sent.message_id]
    assert [m.message["Message-ID"] for m in stack.sink.delivered] == [sent.message_id]
    assert (sent.template, sent.attempts) == ("acknowledgement", 1)


class KillOnNth:
    """SMTP reply hook: on the Nth message, kill the worker and refuse that message, so it
    is not delivered; the relay sends one at a time, so no other mail is in flight then."""

    def __init__(self, n: int) -> None:
        self.n, self.seen, self.worker = n, 0, None

    def __call__(self, envelope) -> str | None:
        self.seen += 1
        if self.seen == self.n:
            self.worker.kill()
            return "451 4.3.0 worker gone"
        return None


KILLER = KillOnNth(5)


@pytest.mark.parametrize(
    "stack", [{"reply": KILLER, "CASEWORK_OUTBOX_SENDERS": "1"}], indirect=True
)
async def test_worker_killed_in_the_middle_of_intake_of_100_cases(stack):
    KILLER.worker = stack.worker
    for name in ("Ann", "Bob"):
        r = await stack.http.post(
            "/api/v1/agents",
            json={"name": name, "email": f"{name.lower()}@casework.test", "capacity": 100},
        )
        assert r.status_code == 201, r.text
    # Paced over ~5 s: the kill (at the 5th mail, within the first few cases) always lands
    # while cases are still arriving, however fast intake runs on this machine.
    posted = []
    for n in range(100):
        posted.append(asyncio.create_task(open_by_email(stack, n)))
        await asyncio.sleep(0.05)
    cases = await asyncio.gather(*posted)
    await stack.wait(lambda: asyncio.sleep(0, KILLER.seen >= KILLER.n), timeout=120)
    assert stack.worker.proc.poll() is not None  # it really died
    async with stack.sessions() as db:
        routed = await db.scalar(
            select(func.count()).select_from(Case).where(Case.assigned_agent_id.is_not(None))
        )
    assert routed < 100  # killed mid-intake: some cases were not yet through it
    stack.worker.start()

    async def all_done():
        async with stack.sessions() as db:
            routed = await db.scalar(
                select(func.count()).select_from(Case).where(Case.assigned_agent_id.is_not(None))
            )
            sent = await db.scalar(
                select(func.count()).select_from(Notification).where(Notification.status == "sent")
            )
        return routed == 100 and sent == 200

    await stack.wait(all_done, timeout=240, every=1)
    async with stack.sessions() as db:
        per_case = (
            await db.execute(select(Assignment.case_id, func.count()).group_by(Assignment.case_id))
        ).all()
        acks = (
            await db.execute(
                select(Notification.case_id, func.count())
                .where(Notification.template == "acknowledgement")
                .group_by(Notification.case_id)
            )
        ).all()
    assert len(per_case) == 100 and all(n == 1 for _, n in per_case)
    assert len(acks) == 100 and all(n == 1 for _, n in acks)
    delivered = [m.message["Message-ID"] for m in stack.sink.messages]
    assert len(delivered) == 200 and len(set(delivered)) == 200  # none twice
    ack_rcpts = sorted(
        m.rcpt_tos[0] for m in stack.sink.messages if "received" in m.message["Subject"].lower()
    )
    assert ack_rcpts == sorted(f"customer{n}@mail.example" for n in range(100))
    assert {c["id"] for c in cases} == {str(c) for c, _ in per_case}
