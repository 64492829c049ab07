"""Sign-in by email link and cookie sessions, on the real app with a real outbox relay and
SMTP server: the link is read from the mail, as a person would."""

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from activities.relay import OutboxRelay
from api.auth import COOKIE
from api.rate_limit import Limiter
from casework.settings import Rate
from casework.worker import relaying
from models.auth import SignInLink, WebSession
from models.cases import Notification
from models.customers import Contact
from models.db import libpq_url
from models.people import Agent
from tests import factories
from tests.conftest import make_deps, mint
from tests.smtp import start_smtp_sink

LINK = re.compile(r"https?://\S+/login/link/(\S+)")


@pytest.fixture
async def mailbox(sessions):
    """The outbox relay sending to a real SMTP server, as the worker runs it."""
    sink = start_smtp_sink()
    deps = make_deps(sessions, sink.url)
    relay = OutboxRelay(deps, listen_conninfo=libpq_url(sessions.kw["bind"].url))
    async with relaying(relay):
        yield sink
    sink.stop()


def browser(api, base_url: str = "http://casework.test") -> httpx.AsyncClient:
    """A client on the app with its own cookie jar and no token: a browser."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url=base_url)


@pytest.fixture
async def people(sessions):
    acme = await factories.account(sessions, "Acme", domains=("acme.example",))
    ada = await factories.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    bob = await factories.contact(sessions, acme.id, name="Bob", email="bob@acme.example")
    return {"acme": acme, "ada": ada, "bob": bob}


async def ask_link(client, sink, email: str, count: int) -> str:
    """Ask for a link by the form; the path of the link in the `count`-th mail received."""
    r = await client.post("/login/email", data={"email": email})
    assert r.status_code == 200 and "Check your mail" in r.text, r.text
    mail = (await asyncio.to_thread(sink.wait_for, count))[count - 1]
    assert mail.rcpt_tos == [email]
    text = mail.message.get_body(("plain",)).get_content()
    return urlsplit("http://x/login/link/" + LINK.search(text).group(1)).path


async def sign_in_by_link(client, path: str) -> httpx.Response:
    page = await client.get(path)
    assert page.status_code == 200 and "Sign in as" in page.text, page.text
    value = path.rsplit("/", 1)[1]
    return await client.post("/login/link", data={"value": value})


async def test_a_contact_signs_in_by_the_mailed_link_once(api, sessions, mailbox, people):
    async with browser(api) as ada:
        path = await ask_link(ada, mailbox, "ada@acme.example", 1)
        # Opening the link (a mail scanner's prefetch) spends nothing: it asks to confirm.
        assert "Sign in as <strong>Ada</strong>" in (await ada.get(path)).text
        r = await sign_in_by_link(ada, path)
        assert r.status_code == 303 and r.headers["location"] == "/portal"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=cws_") and "HttpOnly" in cookie
        assert "secure" not in cookie.lower()  # plain http here
        page = await ada.get("/portal")
        assert page.status_code == 200 and "Ada · contact" in page.text
        me = (await ada.get("/api/v1/tokens/me")).json()
        assert me == {"role": "contact", "subject_id": str(people["ada"].id)}
        # Used: the same link again is refused, by GET and by POST, and says so.
        again = await ada.get(path)
        assert again.status_code == 410 and "already used" in again.text
        r = await ada.post("/login/link", data={"value": path.rsplit("/", 1)[1]})
        assert r.status_code == 410 and "already used" in r.text
        assert COOKIE not in r.headers.get("set-cookie", "")
    async with sessions() as db:
        row = (await db.execute(select(Notification))).scalar_one()
    assert (row.template, row.status, row.case_id) == ("sign_in_link", "sent", None)
    assert len(mailbox.messages) == 1


async def test_an_expired_link_is_refused_and_says_so(api, sessions, mailbox, people):
    async with browser(api) as client:
        path = await ask_link(client, mailbox, "ada@acme.example", 1)
        async with sessions() as db, db.begin():
            past = datetime.now(UTC) - timedelta(seconds=1)
            await db.execute(update(SignInLink).values(expires_at=past))
        for r in (
            await client.get(path),
            await client.post("/login/link", data={"value": path.rsplit("/", 1)[1]}),
        ):
            assert r.status_code == 410 and "has expired" in r.text
            assert COOKIE not in r.headers.get("set-cookie", "")


async def test_an_altered_link_never_signs_anyone_in(api, sessions, mailbox, people):
    async with browser(api) as client:
        ada_path = await ask_link(client, mailbox, "ada@acme.example", 1)
        bob_path = await ask_link(client, mailbox, "bob@acme.example", 2)
        ada_id, ada_secret = ada_path.rsplit("/", 1)[1].split(".", 1)
        bob_id, bob_secret = bob_path.rsplit("/", 1)[1].split(".", 1)
        flipped = ada_secret[:-1] + ("A" if ada_secret[-1] != "A" else "B")
        for value in (
            f"{ada_id}.{flipped}",  # one character changed
            f"{bob_id}.{ada_secret}",  # Ada's secret under Bob's link
            f"{ada_id}.{bob_secret}",
            f"{uuid.uuid4().hex}.{ada_secret}",
            ada_id,
            "nonsense",
        ):
            r = await client.get(f"/login/link/{value}")
            assert r.status_code == 400 and "not valid" in r.text, value
            r = await client.post("/login/link", data={"value": value})
            assert r.status_code == 400 and "not valid" in r.text, value
            assert COOKIE not in r.headers.get("set-cookie", "")
        # Untouched, each still signs in its own person, and only them.
        r = await sign_in_by_link(client, bob_path)
        assert r.status_code == 303
        me = (await client.get("/api/v1/tokens/me")).json()
        assert me["subject_id"] == str(people["bob"].id)


async def test_a_link_to_an_address_its_person_no_longer_has_is_refused(
    api, sessions, mailbox, people
):
    async with browser(api) as client:
        path = await ask_link(client, mailbox, "ada@acme.example", 1)
        async with sessions() as db, db.begin():
            await db.execute(
                update(Contact)
                .where(Contact.id == people["ada"].id)
                .values(email="ada@elsewhere.example")
            )
        r = await client.post("/login/link", data={"value": path.rsplit("/", 1)[1]})
        assert r.status_code == 400 and "not valid" in r.text


async def test_a_merged_contact_is_no_one_to_sign_in_as(api, sessions, mailbox, people):
    """Ada's link, asked for before her record was merged into Bob's, is refused; after the
    merge her address gets the same answer as an unknown one, and no mail."""
    async with browser(api) as client:
        path = await ask_link(client, mailbox, "ada@acme.example", 1)
        async with sessions() as db, db.begin():
            await db.execute(
                update(Contact)
                .where(Contact.id == people["ada"].id)
                .values(merged_into_id=people["bob"].id)
            )
        r = await client.post("/login/link", data={"value": path.rsplit("/", 1)[1]})
        assert r.status_code == 400 and "not valid" in r.text
        again = await client.post("/login/email", data={"email": "ada@acme.example"})
        assert again.status_code == 200
    async with sessions() as db:
        assert (await db.execute(select(func.count()).select_from(SignInLink))).scalar() == 1


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(api, sessions, mailbox, people):
    async with browser(api) as client:
        known = await client.post("/login/email", data={"email": "ada@acme.example"})
        await asyncio.to_thread(mailbox.wait_for, 1)
        for email in ("nobody@acme.example", "not an address", ""):
            unknown = await client.post("/login/email", data={"email": email})
            assert unknown.status_code == known.status_code == 200
            assert unknown.text == known.text
            assert unknown.headers.get("set-cookie") == known.headers.get("set-cookie")
    async with sessions() as db:
        rows = (await db.execute(select(Notification.recipient))).scalars().all()
        links = (await db.execute(select(SignInLink.email))).scalars().all()
    assert rows == links == ["ada@acme.example"]


async def test_links_are_rate_limited_per_address_and_per_client(api, mailbox, people):
    state = api.app.state.rate_limits
    state.sign_in_address = Limiter(Rate(2, 60))
    async with browser(api) as client:
        for _ in range(2):
            r = await client.post("/login/email", data={"email": "ADA@acme.example"})
            assert r.status_code == 200
        r = await client.post("/login/email", data={"email": "ada@acme.example"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert "Too many sign-in links" in r.text
        # Unknown addresses are limited alike (no probing by the limit either).
        for expected in (200, 200, 429):
            r = await client.post("/login/email", data={"email": "ghost@acme.example"})
            assert r.status_code == expected
        assert (
            await client.post("/login/email", data={"email": "bob@acme.example"})
        ).status_code == 200
        state.login = Limiter(Rate(1, 60))  # per client: any address, any sign-in form
        assert (
            await client.post("/login/email", data={"email": "x@acme.example"})
        ).status_code == 200
        r = await client.post("/login/email", data={"email": "y@acme.example"})
        assert r.status_code == 429 and "Too many sign-in attempts" in r.text


async def test_the_cookie_is_a_session_never_a_bearer_token(api, sessions, people):
    token = (await mint(api, "contact", people["ada"].id))["Authorization"]
    async with browser(api) as client:
        r = await client.post("/login", data={"token": token.removeprefix("Bearer ")})
        assert r.status_code == 303
        value = client.cookies[COOKIE]
        assert value.startswith("cws_") and value not in token
        assert (await client.get("/api/v1/tokens/me")).status_code == 200  # the cookie works
    async with browser(api) as thief:
        r = await thief.get("/api/v1/tokens/me", headers={"Authorization": f"Bearer {value}"})
        assert r.status_code == 401
        # ... and an API token does not work as a cookie.
        thief.cookies.set(COOKIE, token.removeprefix("Bearer "))
        assert (await thief.get("/api/v1/tokens/me")).status_code == 401
        assert (await thief.get("/portal")).status_code == 303
    async with sessions() as db:
        row = (await db.execute(select(WebSession))).scalar_one()
    assert (row.role, row.subject_id, row.via) == ("contact", people["ada"].id, "token")
    assert value not in row.token_hash  # only its hash is kept


async def test_log_out_ends_the_session_on_the_server(api, sessions, people):
    token = (await mint(api, "contact", people["ada"].id))["Authorization"].split()[1]
    async with browser(api) as client:
        await client.post("/login", data={"token": token})
        copied = client.cookies[COOKIE]
        r = await client.post("/logout")
        assert r.status_code == 303 and r.headers["location"] == "/login"
    async with browser(api) as replay:
        replay.cookies.set(COOKIE, copied)  # a copy of the cookie taken before log-out
        r = await replay.get("/portal")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert (await replay.get("/api/v1/tokens/me")).status_code == 401
    listed = (await api.get(f"/api/v1/sessions?subject_id={people['ada'].id}")).json()["items"]
    assert len(listed) == 1 and listed[0]["revoked_at"] is not None


async def test_sessions_are_listed_per_person_and_revocable(api, sessions, people):
    ada_token = (await mint(api, "contact", people["ada"].id))["Authorization"].split()[1]
    bob_token = (await mint(api, "contact", people["bob"].id))["Authorization"].split()[1]
    async with browser(api) as ada1, browser(api) as ada2, browser(api) as bob:
        for client, tok in ((ada1, ada_token), (ada2, ada_token), (bob, bob_token)):
            assert (await client.post("/login", data={"token": tok})).status_code == 303
        mine = (await ada1.get("/api/v1/sessions")).json()["items"]
        assert len(mine) == 2 and {s["subject_id"] for s in mine} == {str(people["ada"].id)}
        assert [s["current"] for s in mine] == [True, False]
        bobs = (await bob.get("/api/v1/sessions")).json()["items"]
        assert len(bobs) == 1
        # Bob cannot end Ada's session (not found), Ada can end her other one.
        assert (await bob.delete(f"/api/v1/sessions/{mine[1]['id']}")).status_code == 404
        assert (await ada1.delete(f"/api/v1/sessions/{mine[1]['id']}")).status_code == 204
        assert (await ada2.get("/portal")).status_code == 303
        assert (await ada1.get("/portal")).status_code == 200
        page = await ada1.get("/account")
        assert page.status_code == 200 and "this browser" in page.text
        # The admin sees everyone's and ends any.
        everyone = (await api.get("/api/v1/sessions?active=true")).json()["items"]
        assert len(everyone) == 2
        assert (await api.delete(f"/api/v1/sessions/{bobs[0]['id']}")).status_code == 204
        assert (await bob.get("/portal")).status_code == 303


async def test_an_expired_session_signs_no_one_in(api, sessions, people):
    token = (await mint(api, "contact", people["ada"].id))["Authorization"].split()[1]
    async with browser(api) as client:
        await client.post("/login", data={"token": token})
        assert (await client.get("/portal")).status_code == 200
        async with sessions() as db, db.begin():
            past = datetime.now(UTC) - timedelta(seconds=1)
            await db.execute(update(WebSession).values(expires_at=past))
        assert (await client.get("/portal")).status_code == 303


@pytest.mark.parametrize(
    ("base_url", "headers", "secure"),
    [
        ("https://casework.test", {}, True),
        ("http://casework.test", {"X-Forwarded-Proto": "https"}, True),
        ("http://casework.test", {}, False),
    ],
)
async def test_the_cookie_is_secure_over_https(api, people, base_url, headers, secure):
    token = (await mint(api, "contact", people["ada"].id))["Authorization"].split()[1]
    async with browser(api, base_url) as client:
        r = await client.post("/login", data={"token": token}, headers=headers)
        assert r.status_code == 303
        assert ("; secure" in r.headers["set-cookie"].lower()) is secure


async def test_staff_and_technicians_sign_in_by_link_as_who_they_are(api, sessions, mailbox):
    sue = await factories.agent(sessions, "Sue")
    async with sessions() as db, db.begin():
        await db.execute(update(Agent).where(Agent.id == sue.id).values(role="supervisor"))
    tim = await api.post(
        "/api/v1/technicians", json={"name": "Tim", "email": "tim@casework.example"}
    )
    expected = {sue.email: ("supervisor", str(sue.id), "/console")}
    expected["tim@casework.example"] = ("technician", tim.json()["id"], "/account")
    for count, (email, (role, subject, home)) in enumerate(expected.items(), start=1):
        async with browser(api) as client:
            r = await sign_in_by_link(client, await ask_link(client, mailbox, email, count))
            assert r.status_code == 303 and r.headers["location"] == home
            me = (await client.get("/api/v1/tokens/me")).json()
            assert me == {"role": role, "subject_id": subject}
            assert (await client.get(home)).status_code == 200
