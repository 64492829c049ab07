"""Inbound email end to end: real .eml messages (Gmail, Outlook, Apple Mail shapes) posted to
POST /inbound/email land on the right case or none; our mail (caught by an SMTP sink) threads
back, goes reply-all, never to a bouncing address, and an auto-responder answering all of it
gets nothing back. Bad input is refused with a 4xx and leaves nothing behind."""

import asyncio
import random
import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from api.rate_limit import Limiter
from casework.devstack import ReceivedMessage
from casework.settings import Rate, Settings
from models.cases import Case, Notification
from models.mail import CaseFollowUp, CaseParticipant, InboundMessage
from tests import factories
from tests.api.test_cases import act, settle
from tests.conftest import ADMIN_TOKEN, make_deps, mint, running_worker, serving
from tests.mail_fixtures import eml
from tests.smtp import SmtpServer, start_smtp_sink
from workflows.signing import SIGNATURE_HEADER, sign

V1 = "/api/v1"
SECRET = "mail-gateway-secret"
SUPPORT = "support@casework.test"


@dataclass
class Room:
    """The app (as admin), its worker, the sink that catches what it sends."""

    http: httpx.AsyncClient
    sink: SmtpServer
    gateway: dict  # an integration token's headers
    sessions: object
    app: object

    async def post(self, raw: bytes, *, signed: bool = True, **headers) -> httpx.Response:
        signature = {SIGNATURE_HEADER: sign(SECRET, raw)} if signed else {}
        headers = {"Content-Type": "message/rfc822", **self.gateway, **signature, **headers}
        return await self.http.post(f"{V1}/inbound/email", content=raw, headers=headers)

    async def take(self, raw: bytes, action: str) -> dict:
        r = await self.post(raw)
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["action"] == action, got
        return got

    async def mails(self, count: int) -> list[ReceivedMessage]:
        return await asyncio.to_thread(self.sink.wait_for, count, 15)

    async def count(self, model) -> int:
        async with self.sessions() as db:
            return await db.scalar(select(func.count()).select_from(model))


@pytest.fixture
async def room(sessions, database_url, ts_env):
    sink = start_smtp_sink()
    settings = Settings(
        DATABASE_URL=database_url,
        CASEWORK_ADMIN_TOKEN=ADMIN_TOKEN,
        CASEWORK_TASK_QUEUE=f"tq-{uuid.uuid4().hex[:8]}",
        CASEWORK_WEBHOOK_SECRET=SECRET,
        CASEWORK_MAIL_FROM=SUPPORT,
        CASEWORK_MAIL_ADDRESSES="help@casework.test",
        CASEWORK_MAIL_REOPENS_PER_HOUR=1,
        CASEWORK_MAIL_MAX_BYTES=100_000,
        CASEWORK_MAIL_MAX_ATTACHMENT_BYTES=20_000,
    )
    try:
        async with (
            serving(settings, ts_env.client) as http,
            running_worker(ts_env.client, make_deps(sessions, sink.url), settings.task_queue),
        ):
            gateway = await mint(http, "integration")
            yield Room(http, sink, gateway, sessions, http.app)
    finally:
        sink.stop()


@pytest.fixture
async def acme(sessions):
    account = await factories.account(sessions, "Acme", domains=("acme.example",))
    ada = await factories.contact(sessions, account.id, name="Ada", email="ada@acme.example")
    bob = await factories.contact(sessions, account.id, name="Bob", email="bob@acme.example")
    return {"account": account, "ada": ada, "bob": bob}


def thread(case: dict, answering: ReceivedMessage, earlier: list[str] = ()) -> dict:
    """The placeholders of a reply to `answering` (a mail we sent on `case`)."""
    mid = answering.message["Message-ID"]
    return {
        "in_reply_to": mid,
        "references": " ".join([*earlier, mid]),
        "case_number": case["number"],
        "subject": case["subject"],
    }


def renamed(raw: bytes, message_id: str) -> bytes:
    """The same message under another Message-ID (another mail in the same shape)."""
    new = f"Message-ID: {message_id}".encode()
    return re.sub(rb"(?im)^Message-I[dD]: .*$", new, raw, count=1)


async def opened_by_mail(room: Room) -> tuple[dict, ReceivedMessage]:
    """Ada's new Gmail message opens a case; its acknowledgement reaches her."""
    got = await room.take(eml("gmail_new"), "opened")
    case = await settle(room.http, got["case_id"])
    (ack,) = await room.mails(1)
    return case, ack


async def events(room: Room, case_id: str, headers=None) -> list[dict]:
    r = await room.http.get(f"{V1}/cases/{case_id}/timeline", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def replies(room: Room, case_id: str) -> list[str]:
    return [e["body"] for e in await events(room, case_id) if e["kind"] == "customer_reply"]


# ----- threading ---------------------------------------------------------------------------


async def test_replies_from_gmail_and_outlook_land_on_their_case(room, acme):
    case, ack = await opened_by_mail(room)
    assert ack.rcpt_tos == ["ada@acme.example"]
    assert ack.message["Auto-Submitted"] == "auto-generated"
    first = "<CAH8Yd0q+Zx1mW9LkQ3vNp7@mail.gmail.com>"  # the acknowledgement answers it
    assert (ack.message["In-Reply-To"], ack.message["References"]) == (first, first)
    assert case["contact_id"] == str(acme["ada"].id)  # found as POST /cases with email finds
    opened = (await events(room, case["id"]))[0]
    assert opened["kind"] == "opened" and "reboots every ten minutes" in opened["body"]

    # Gmail answers the acknowledgement: In-Reply-To names it.
    got = await room.take(eml("gmail_reply", **thread(case, ack)), "appended")
    assert got["case_id"] == case["id"]
    assert await replies(room, case["id"]) == [
        "It happened again at 09:35, the log shows a kernel panic."
    ]

    # The agent asks; Outlook answers the question: the case resumes from awaiting_info.
    assert (
        await act(room.http, case["id"], "await-info", body="Serial number?")
    ).status_code == 200
    question = (await room.mails(2))[1]
    got = await room.take(eml("outlook_reply", **thread(case, question)), "appended")
    assert got["case_id"] == case["id"]
    view = (await room.http.get(f"{V1}/cases/{case['id']}")).json()
    assert view["state"] == "open"
    last = (await replies(room, case["id"]))[-1]
    assert last.startswith("The serial number is RX-1200-4471") and "From:" not in last

    # Resolved; Outlook's "-----Original Message-----" reply has no In-Reply-To, but the case
    # number in its subject and a participant as its sender: it reopens the case.
    assert (await act(room.http, case["id"], "resolve", resolution="Update")).status_code == 200
    got = await room.take(eml("outlook_original_message", **thread(case, ack)), "appended")
    assert "reopened" in got["reason"]
    view = (await room.http.get(f"{V1}/cases/{case['id']}")).json()
    assert (view["state"], view["reopen_count"]) == ("open", 1)
    assert (await replies(room, case["id"]))[
        -1
    ] == "No, it still reboots after the firmware update."

    # At most one reopening an hour by mail (the setting): the next is kept, not acted on.
    assert (await act(room.http, case["id"], "resolve", resolution="Again")).status_code == 200
    again = renamed(eml("gmail_reply", **thread(case, ack)), "<CAH8Yd0again@mail.gmail.com>")
    got = await room.take(again, "ignored")
    assert got["case_id"] == case["id"] and "at most 1" in got["reason"]
    view = (await room.http.get(f"{V1}/cases/{case['id']}")).json()
    assert (view["state"], view["reopen_count"]) == ("resolved", 1)
    held = [e for e in await events(room, case["id"]) if e["kind"] == "mail_held"]
    assert len(held) == 1 and not held[0]["public"] and "kernel panic" in held[0]["body"]

    # The same message delivered again is taken once.
    again = await room.take(eml("gmail_reply", **thread(case, ack)), "appended")
    assert again["reason"].startswith("already received")
    assert await room.count(Case) == 1


async def test_a_reply_with_the_original_cc_is_answered_to_all(room, acme):
    case, ack = await opened_by_mail(room)
    assert (await act(room.http, case["id"], "respond", body="Could you send the log?")).is_success
    reply = (await room.mails(2))[1]
    apple = eml("apple_reply_cc", **thread(case, reply, [ack.message["Message-ID"]]))
    got = await room.take(apple, "appended")
    assert got["case_id"] == case["id"]
    assert (await replies(room, case["id"])) == [
        "Adding Bob, who looks after the lab network.\n\nAda"
    ]
    async with room.sessions() as db:
        people = await db.scalars(
            select(CaseParticipant.email).where(CaseParticipant.case_id == uuid.UUID(case["id"]))
        )
        assert set(people) == {"ada@acme.example", "bob@acme.example"}  # not our own address

    # Someone who had our mail forwarded answers it: kept on the case, copying no one in.
    forwarded = (
        eml("apple_reply_cc", **thread(case, reply))
        .replace(b"From: Ada Lovelace <ada@acme.example>", b"From: Fred <fred@elsewhere.example>")
        .replace(b"Bob Babbage <bob@acme.example>", b"Gina <gina@elsewhere.example>")
    )
    got = await room.take(renamed(forwarded, "<fwd-1@elsewhere.example>"), "appended")
    assert got["case_id"] == case["id"]
    async with room.sessions() as db:
        people = await db.scalars(
            select(CaseParticipant.email).where(CaseParticipant.case_id == uuid.UUID(case["id"]))
        )
        assert set(people) == {"ada@acme.example", "bob@acme.example"}

    assert (await act(room.http, case["id"], "respond", body="Thanks, Bob.")).is_success
    answers = (await room.mails(4))[2:]
    assert sorted(m.rcpt_tos[0] for m in answers) == ["ada@acme.example", "bob@acme.example"]
    apple_id = "<6F0C1B2A-3D4E-4F5A-8B9C-0D1E2F3A4B5C@acme.example>"
    for m in answers:
        assert m.message["In-Reply-To"] == apple_id
        assert m.message["References"].split()[-1] == apple_id
        assert reply.message["Message-ID"] in m.message["References"]
        assert m.message["Auto-Submitted"] == "auto-generated"

    # Bob's address bounces: the report opens nothing, and Bob gets no more mail.
    to_bob = next(m for m in answers if m.rcpt_tos == ["bob@acme.example"])
    got = await room.take(eml("dsn_bounce", **thread(case, to_bob)), "ignored")
    assert "delivery status report" in got["reason"] and "bob@acme.example" in got["reason"]
    assert got["case_id"] == case["id"]  # the bounce names the mail it returns
    noted = [e for e in await events(room, case["id"]) if e["kind"] == "mail_bounced"]
    assert len(noted) == 1 and noted[0]["data"]["failed"] == ["bob@acme.example"]
    bob = (await room.http.get(f"{V1}/contacts/{acme['bob'].id}")).json()
    assert "delivery failed" in bob["email_bouncing"]
    ada = (await room.http.get(f"{V1}/contacts/{acme['ada'].id}")).json()
    assert ada["email_bouncing"] is None

    assert (await act(room.http, case["id"], "respond", body="Fixed?")).is_success
    assert [m.rcpt_tos for m in (await room.mails(5))[4:]] == [["ada@acme.example"]]
    for _ in range(100):  # the relay settles Bob's row next to Ada's
        async with room.sessions() as db:
            skipped = await db.scalar(
                select(Notification).where(
                    Notification.recipient == "bob@acme.example",
                    Notification.status == "failed",
                )
            )
        if skipped is not None:
            break
        await asyncio.sleep(0.05)
    assert skipped is not None and "bounces" in skipped.last_error
    await asyncio.sleep(0.5)
    assert len(room.sink.messages) == 5 and await room.count(Case) == 1


# ----- loops -------------------------------------------------------------------------------


async def test_an_auto_responder_answering_everything_gets_no_answer(room, acme):
    """It answers every mail we send, starting a new thread each time (as many do): without
    loop detection each answer would open a case and be acknowledged, and so on."""
    _, ack = await opened_by_mail(room)
    answered = 0
    for round_ in range(3):
        for sent in room.sink.messages[answered:]:
            assert sent.message["Auto-Submitted"] == "auto-generated"  # it answers anyway
            vacation = renamed(eml("apple_vacation"), f"<vacation-{round_}@icloud.com>")
            got = await room.take(vacation, "ignored")
            assert "x-autoreply" in got["reason"] and got["case_id"] is None
            outlook = eml("outlook_autoreply", in_reply_to=sent.message["Message-ID"])
            got = await room.take(renamed(outlook, f"<auto-{round_}@outlook.test>"), "ignored")
            assert "Auto-Submitted: auto-replied" in got["reason"]
            answered += 1
        await asyncio.sleep(0.5)  # time for any answer of ours to reach the sink
    assert answered == 1 and len(room.sink.messages) == 1
    assert await room.count(Case) == 1
    assert await room.count(InboundMessage) == 3  # each kept, none answered


async def test_bulk_mail_and_an_empty_return_path_open_nothing(room):
    r = await room.post(eml("list_bulk"), **{"Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.json()["action"] == "ignored"  # bytes are taken too
    assert "Precedence: bulk" in r.json()["reason"]
    no_return = eml("gmail_new").replace(b"Return-Path: <ada@acme.example>", b"Return-Path: <>")
    got = await room.take(no_return, "ignored")
    assert "empty return path" in got["reason"]
    assert await room.count(Case) == 0
    await asyncio.sleep(0.3)
    assert room.sink.messages == []


# ----- what a new message brings -----------------------------------------------------------


async def test_html_only_mail_is_read_as_text(room, acme):
    got = await room.take(eml("outlook_html_only"), "opened")
    await settle(room.http, got["case_id"])
    opened = (await events(room, got["case_id"]))[0]
    assert "our invoice shows Old Street 1 & the wrong city." in opened["body"]
    assert "<" not in opened["body"] and "alert" not in opened["body"]
    # The whole message is kept, for staff (not for the customer).
    r = await room.http.get(f"{V1}/cases/{got['case_id']}/messages")
    assert r.status_code == 200, r.text
    (kept,) = r.json()
    assert (kept["action"], kept["sender"]) == ("opened", "ada@acme.example")
    raw = await room.http.get(kept["raw_url"])
    assert raw.content == eml("outlook_html_only")
    assert raw.headers["content-type"].startswith("message/rfc822")
    ada = await mint(room.http, "contact", acme["ada"].id)
    assert (await room.http.get(kept["raw_url"], headers=ada)).status_code == 403


async def test_attachments_are_kept_and_shown_to_who_may_see_the_case(room, acme, sessions):
    got = await room.take(eml("gmail_attachment"), "opened")
    case_id = got["case_id"]
    await settle(room.http, case_id)
    ada = await mint(room.http, "contact", acme["ada"].id)
    other = await factories.account(sessions, "Other", domains=("other.example",))
    eve = await factories.contact(sessions, other.id, name="Eve", email="eve@other.example")
    eve = await mint(room.http, "contact", eve.id)

    r = await room.http.get(f"{V1}/cases/{case_id}/attachments", headers=ada)
    assert r.status_code == 200, r.text
    (listed,) = r.json()
    assert (listed["filename"], listed["content_type"]) == ("crash.log", "text/plain")
    r = await room.http.get(listed["url"], headers=ada)
    assert r.status_code == 200 and r.content.startswith(b"kernel panic at 09:35:12")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"

    for url in (f"{V1}/cases/{case_id}/attachments", listed["url"]):
        assert (await room.http.get(url, headers=eve)).status_code == 404
    wrong = f"{V1}/cases/{uuid.uuid4()}/attachments/{listed['id']}"
    assert (await room.http.get(wrong)).status_code == 404

    # The pages list it too, with the download link: the customer's case page and the
    # console's; another account's contact gets the 404 page.
    link = f'<a href="{listed["url"]}" download>crash.log</a>'
    portal = await room.http.get(f"/portal/cases/{case_id}", headers=ada)
    assert portal.status_code == 200 and link in portal.text
    console = await room.http.get(f"/console/cases/{case_id}")
    assert console.status_code == 200 and link in console.text
    assert (await room.http.get(f"/portal/cases/{case_id}", headers=eve)).status_code == 404


async def test_a_stranger_quoting_a_case_number_gets_a_new_flagged_case(room, acme):
    case, ack = await opened_by_mail(room)
    got = await room.take(eml("stranger_quoting", **thread(case, ack)), "opened")
    assert got["case_id"] != case["id"]
    assert "flagged" in got["reason"] and case["number"] in got["reason"]
    assert await replies(room, case["id"]) == []  # nothing reached Ada's case
    flagged = [e for e in await events(room, got["case_id"]) if e["kind"] == "mail_flagged"]
    assert len(flagged) == 1 and not flagged[0]["public"]
    assert flagged[0]["data"]["quoted_case_number"] == case["number"]
    stranger = await settle(room.http, got["case_id"])
    assert stranger["contact_id"] is None and stranger["consumer_id"] is not None


async def test_a_reply_after_close_opens_a_linked_follow_up(room, acme):
    case, ack = await opened_by_mail(room)
    ada = await mint(room.http, "contact", acme["ada"].id)
    assert (await act(room.http, case["id"], "resolve", resolution="Done")).is_success
    assert (await act(room.http, case["id"], "accept", headers=ada)).is_success
    await asyncio.sleep(0.2)
    got = await room.take(eml("gmail_reply", **thread(case, ack)), "opened")
    assert got["case_id"] != case["id"] and "follow-up" in got["reason"]
    follow_up = await settle(room.http, got["case_id"])
    assert follow_up["contact_id"] == str(acme["ada"].id)
    async with room.sessions() as db:
        link = await db.get(CaseFollowUp, uuid.UUID(got["case_id"]))
    assert link.follows_case_id == uuid.UUID(case["id"])
    new_events = await events(room, got["case_id"])
    assert new_events[0]["body"].startswith(f"Follow-up of {case['number']}")
    assert any(e["kind"] == "follow_up_of" for e in new_events)
    old = [e for e in await events(room, case["id"]) if e["kind"] == "follow_up_opened"]
    assert old and old[0]["data"]["case_id"] == got["case_id"]

    # The next reply to the old thread joins the follow-up while it runs.
    later = renamed(eml("gmail_reply", **thread(case, ack)), "<CAH8Yd0later@mail.gmail.com>")
    joined = await room.take(later, "appended")
    assert joined["case_id"] == got["case_id"] and "its follow-up" in joined["reason"]
    assert await room.count(Case) == 2


# ----- bad input ---------------------------------------------------------------------------


async def test_bad_input_is_refused_and_leaves_nothing(room, acme):
    async def refused(raw: bytes, status: int, **kw) -> str:
        r = await room.post(raw, **kw)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        return r.json()["detail"]

    assert "no header section" in await refused(b"just some words, no headers\r\n", 422)
    assert "From" in await refused(b"From: nobody\r\nSubject: x\r\n\r\nhi\r\n", 422)
    assert "From" in await refused(b"Subject: no sender\r\n\r\nhi\r\n", 422)
    bad_header = b"From: =?utf-8?q?broken <ada@acme.example\r\nSubject: x\r\n\r\nhi\r\n"
    await refused(bad_header, 422)
    assert "empty" in await refused(b"", 422)
    big = eml("gmail_new") + b"x" * 100_001
    assert "100000" in await refused(big, 413)
    attached = eml("gmail_attachment").replace(
        b"a2VybmVsIHBhbmljIGF0IDA5OjM1OjEyCnN0YWNrOiBldGgwX2lycSsweDQ0Cg==",
        b"QUFBQUFB" * 4000,
    )
    assert "crash.log" in await refused(attached, 413)
    await refused(eml("gmail_new"), 415, **{"Content-Type": "text/plain"})
    await refused(eml("gmail_new"), 401, signed=False)
    await refused(eml("gmail_new"), 401, **{SIGNATURE_HEADER: "sha256=00"})
    ada = await mint(room.http, "contact", acme["ada"].id)
    r = await room.http.post(
        f"{V1}/inbound/email",
        content=eml("gmail_new"),
        headers={"Content-Type": "message/rfc822", **ada},
    )
    assert r.status_code == 403

    async def chunks():
        for _ in range(30):
            yield b"x" * 5000

    r = await room.http.post(
        f"{V1}/inbound/email",
        content=chunks(),
        headers={"Content-Type": "message/rfc822", **room.gateway},
    )
    assert r.status_code == 413, r.text
    assert await room.count(Case) == 0 and await room.count(InboundMessage) == 0


async def test_inbound_mail_is_rate_limited(room):
    room.app.state.rate_limits.inbound_mail = Limiter(Rate(2, 60))
    for _ in range(2):
        await room.take(eml("list_bulk"), "ignored")
    r = await room.post(eml("list_bulk"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_odd_and_mangled_messages_never_get_a_5xx(room, acme):
    """Cut and corrupted fixtures, odd charsets, broken base64, deep nesting, NULs: each is
    taken or refused with a 4xx; none is a server error."""
    odd = [
        eml("gmail_new").replace(b'charset="UTF-8"', b'charset="x-no-such-charset"'),
        eml("gmail_attachment").replace(b"a2VybmVs", b"!!!not base64!!!"),
        b"From: ada@acme.example\r\nSubject: \x00nul\x00\r\n\r\nbody\x00with nul\r\n",
        b"From: ada@acme.example\r\nSubject: " + b"s" * 2000 + b"\r\n\r\nlong subject\r\n",
        b"From: ada@acme.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        + b"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" * 300,
        b"From: ada@acme.example\r\nMessage-ID: <" + b"i" * 5000 + b">\r\n\r\nhuge id\r\n",
        b"\xff\xfe\x00\x01" * 50,
    ]
    rng = random.Random(15)
    for name in ("gmail_reply", "outlook_reply", "apple_reply_cc", "dsn_bounce"):
        raw = bytearray(eml(name))
        odd.append(bytes(raw[: rng.randrange(len(raw))]))
        for _ in range(20):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        odd.append(bytes(raw))
    for raw in odd:
        r = await room.post(raw)
        assert r.status_code < 500, (raw[:200], r.text)
