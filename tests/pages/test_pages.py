"""The HTML pages on the real app: login and cookies, who sees what, escaping, and forms."""

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select

from api.auth import COOKIE
from api.pages.base import env
from api.pages.console import CONSOLE_ACTIONS
from api.pages.portal import CUSTOMER_STATES
from api.services import health_score
from models.cases import Case, CaseEvent, CsatResponse
from tests import factories
from tests.conftest import make_deps, mint, running_worker

XSS = "<script>alert(1)</script>"


# ----- helpers ---------------------------------------------------------------------------


@pytest.fixture
async def anon(api):
    """A client on the same app without the admin header: a browser with a cookie jar."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://casework.test"
    ) as client:
        yield client


@pytest.fixture
async def live(api, sessions, ts_env):
    """The app with a worker on its task queue, so cases opened or acted on really run."""
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        yield api


@pytest.fixture
async def world(sessions):
    """Two customer accounts with a contact each, an agent and a supervisor."""
    acme = await factories.account(sessions, "Acme", domains=("acme.example",))
    globex = await factories.account(sessions, "Globex", domains=("globex.example",))
    ada = await factories.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    gus = await factories.contact(sessions, globex.id, name="Gus", email="gus@globex.example")
    ann = await factories.agent(sessions, "Ann")
    sue = await factories.agent(sessions, "Sue")
    return SimpleNamespace(acme=acme, globex=globex, ada=ada, gus=gus, ann=ann, sue=sue)


async def token(api, role: str, subject_id=None) -> str:
    return (await mint(api, role, subject_id))["Authorization"].removeprefix("Bearer ")


async def log_in(client, api, role: str, subject_id=None) -> httpx.Response:
    r = await client.post("/login", data={"token": await token(api, role, subject_id)})
    assert r.status_code == 303, r.text
    return r


_numbers = iter(range(9_000_000, 9_999_999))


async def make_case(sessions, **fields) -> Case:
    """A case row as the workflow would have projected it (no workflow behind it)."""
    number = f"CS{next(_numbers):07d}"
    now = datetime.now(UTC)
    defaults = {
        "state": "open",
        "priority": 3,
        "channel": "email",
        "subject": "Router down",
        "category": {},
        "required_skills": [],
        "sla": [],
        "created_at": now,
        "updated_at": now,
    }
    case = Case(id=uuid.uuid4(), number=number, workflow_id=f"case-{number}", **defaults | fields)
    return await factories.add(sessions, case)


def clock(name: str, kind: str, due: datetime, **flags) -> dict:
    now = datetime.now(UTC)
    return {
        "definition_id": str(uuid.uuid4()),
        "name": name,
        "kind": kind,
        "due_at": due.isoformat(),
        "remaining_seconds": round((due - now).total_seconds()),
        "paused": False,
        "warned": False,
        "breached": False,
        "stopped": False,
        "running": False,  # as of now: the page shows remaining_seconds as written
        "as_of": now.isoformat(),
        "schedule": None,
        **flags,
    }


async def event(sessions, case: Case, kind: str, body: str, *, public: bool, role="agent"):
    return await factories.add(
        sessions,
        CaseEvent(
            case_id=case.id,
            key=f"{kind}:{uuid.uuid4()}",
            kind=kind,
            actor_role=role,
            public=public,
            body=body,
            data={},
            at=datetime.now(UTC),
        ),
    )


def section(page: str, heading: str, until: str) -> str:
    """The part of a page from one heading to the next one named."""
    start = page.index(heading)
    return page[start : page.index(until, start)]


# ----- login, logout, redirects ----------------------------------------------------------


async def test_login_sets_an_httponly_cookie_and_sends_staff_to_the_console(api, anon, world):
    r = await anon.get("/login")
    assert r.status_code == 200 and 'name="token"' in r.text
    r = await log_in(anon, api, "supervisor", world.sue.id)
    assert r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    page = await anon.get("/console")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Sue · supervisor" in page.text


async def test_login_sends_a_contact_to_the_portal(api, anon, world):
    r = await log_in(anon, api, "contact", world.ada.id)
    assert r.headers["location"] == "/portal"
    assert (await anon.get("/portal")).status_code == 200


async def test_a_bad_token_shows_the_form_again_with_an_error(anon):
    r = await anon.post("/login", data={"token": "cw_nonsense"})
    assert r.status_code == 401
    assert "unknown, revoked or expired" in r.text and 'name="token"' in r.text
    assert COOKIE not in r.headers.get("set-cookie", "")


async def test_login_returns_to_the_page_asked_for_but_never_off_site(api, anon, world):
    sup = await token(api, "supervisor", world.sue.id)
    r = await anon.post("/login", data={"token": sup, "next": "/console?x=1"})
    assert r.headers["location"] == "/console?x=1"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = await anon.post("/login", data={"token": sup, "next": evil})
        assert r.headers["location"] == "/console", evil


@pytest.mark.parametrize(
    "path",
    ["/console", "/portal", f"/console/cases/{uuid.uuid4()}", f"/portal/cases/{uuid.uuid4()}"],
)
async def test_without_a_token_a_page_redirects_to_login(anon, path):
    r = await anon.get(path)
    assert r.status_code in (303, 307)
    assert r.headers["location"].startswith("/login?next=")


async def test_a_stale_cookie_also_redirects_to_login(anon):
    anon.cookies.set(COOKIE, "cw_revoked_long_ago")
    r = await anon.get("/console")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_bearer_header_works_as_well_as_the_cookie(api):
    r = await api.get("/console")  # the fixture's admin header
    assert r.status_code == 200 and "At risk" in r.text


async def test_logout_clears_the_cookie(api, anon, world):
    await log_in(anon, api, "supervisor", world.sue.id)
    r = await anon.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert (await anon.get("/console")).status_code == 303


async def test_a_form_posted_from_another_site_is_refused(api, anon, world):
    sup = await token(api, "supervisor", world.sue.id)
    r = await anon.post("/login", data={"token": sup}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "another site" in r.text
    assert COOKIE not in r.headers.get("set-cookie", "")
    r = await anon.post("/login", data={"token": sup}, headers={"Origin": "http://casework.test"})
    assert r.status_code == 303
    r = await anon.post("/logout", headers={"Referer": "http://evil.example/page"})
    assert r.status_code == 403


# ----- console ---------------------------------------------------------------------------


async def test_console_shows_queues_at_risk_agents_and_recent_cases(api, anon, world, sessions):
    now = datetime.now(UTC)
    soon = await make_case(
        sessions,
        subject="Printer on fire",
        queue="hardware",
        assigned_agent_id=world.ann.id,
        next_due_at=now + timedelta(minutes=30),
        sla=[clock("Gold response", "response", now + timedelta(minutes=30))],
    )
    later = await make_case(
        sessions,
        subject="Toner low",
        queue="hardware",
        next_due_at=now + timedelta(minutes=150),
        waiting_since=now,
    )
    late = await make_case(
        sessions,
        subject="Email bounces",
        queue="mail",
        next_due_at=now - timedelta(minutes=20),
        breached=True,
    )
    far = await make_case(sessions, subject="Feature idea", next_due_at=now + timedelta(days=2))
    closed = await make_case(
        sessions, subject="Old thing", state="closed", next_due_at=now + timedelta(minutes=5)
    )
    await log_in(anon, api, "supervisor", world.sue.id)
    r = await anon.get("/console")
    assert r.status_code == 200, r.text

    at_risk = section(r.text, "At risk", "Queues")
    numbers = re.findall(r"CS\d{7}", at_risk)
    assert numbers == [late.number, soon.number, later.number]  # by due time, breached first
    assert far.number not in at_risk and closed.number not in at_risk
    assert "overdue 20 min" in at_risk and "Gold response" in at_risk and "Ann" in at_risk

    queues = section(r.text, "Queues", "Agents")
    hardware = queues[queues.index("hardware") : queues.index("</tr>", queues.index("hardware"))]
    assert re.findall(r">(\d+)<", hardware)[:2] == ["2", "1"]  # open 2, waiting 1

    agents = section(r.text, "Agents", "Recent cases")
    assert "Ann" in agents and "1/5" in agents and "Sue" in agents and "0/5" in agents

    recent = r.text[r.text.index("Recent cases") :]
    for case in (soon, later, late, far, closed):
        assert f'href="/console/cases/{case.id}"' in recent


async def test_an_agent_may_view_the_console_too(api, anon, world):
    await log_in(anon, api, "agent", world.ann.id)
    assert (await anon.get("/console")).status_code == 200


async def test_a_contact_gets_403_on_the_console(api, anon, world, sessions):
    mine = await make_case(sessions, account_id=world.acme.id, contact_id=world.ada.id)
    await log_in(anon, api, "contact", world.ada.id)
    for path in ("/console", f"/console/cases/{mine.id}"):
        r = await anon.get(path)
        assert r.status_code == 403, path
        assert "text/html" in r.headers["content-type"] and "403" in r.text


async def test_staff_get_403_on_the_portal(api, anon, world):
    await log_in(anon, api, "agent", world.ann.id)
    r = await anon.get("/portal")
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]


async def test_the_console_case_page_shows_clocks_timeline_and_notifications(api, world, sessions):
    now = datetime.now(UTC)
    case = await make_case(
        sessions,
        account_id=world.acme.id,
        contact_id=world.ada.id,
        description="It blinks red.",
        sla=[
            clock("Gold response", "response", now + timedelta(hours=1), paused=True),
            clock("Gold resolution", "resolution", now - timedelta(hours=1), breached=True),
        ],
        breached=True,
    )
    await event(sessions, case, "opened", "It blinks red.", public=True, role="customer")
    await factories.add(
        sessions,
        factories.Notification(
            id=uuid.uuid4(),
            case_id=case.id,
            key=f"{case.id}:ack",
            template="acknowledgement",
            recipient="ada@acme.example",
            subject=f"[{case.number}] We have your case",
            message_id=f"<{uuid.uuid4().hex}@casework>",
            status="sent",
            sent_at=now,
        ),
    )
    r = await api.get(f"/console/cases/{case.id}")
    assert r.status_code == 200, r.text
    clocks = section(r.text, "SLA clocks", "</section>")
    assert "Gold response" in clocks and "paused" in clocks
    assert "Gold resolution" in clocks and "breached" in clocks and "overdue" in clocks
    assert "It blinks red." in r.text and "Acme" in r.text and "Ada" in r.text
    assert "acknowledgement" in r.text and "We have your case" in r.text
    for action in ("respond", "note", "assign", "resolve"):  # admin may take them all
        assert f"/console/cases/{case.id}/actions/{action}" in r.text


async def test_a_supervisor_is_offered_only_the_actions_a_supervisor_may_take(
    api, anon, world, sessions
):
    case = await make_case(sessions)
    await log_in(anon, api, "supervisor", world.sue.id)
    r = await anon.get(f"/console/cases/{case.id}")
    assert f"/console/cases/{case.id}/actions/assign" in r.text
    assert f"/console/cases/{case.id}/actions/respond" not in r.text


async def test_an_unknown_case_is_an_html_404(api):
    for path in (f"/console/cases/{uuid.uuid4()}", "/console/cases/not-a-uuid"):
        r = await api.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"]


# ----- portal ----------------------------------------------------------------------------


async def test_a_contacts_portal_lists_only_their_accounts_cases(api, anon, world, sessions):
    mine = await make_case(
        sessions, subject="Our VPN", account_id=world.acme.id, contact_id=world.ada.id
    )
    colleague = await make_case(sessions, subject="Our printer", account_id=world.acme.id)
    foreign = await make_case(
        sessions, subject="Globex secret", account_id=world.globex.id, contact_id=world.gus.id
    )
    await log_in(anon, api, "contact", world.ada.id)
    r = await anon.get("/portal")
    assert r.status_code == 200
    assert mine.number in r.text and colleague.number in r.text
    assert foreign.number not in r.text and "Globex secret" not in r.text

    assert (await anon.get(f"/portal/cases/{mine.id}")).status_code == 200
    r = await anon.get(f"/portal/cases/{foreign.id}")
    assert r.status_code == 404 and "Globex secret" not in r.text
    r = await anon.post(
        f"/portal/cases/{foreign.id}/actions/customer-reply", data={"body": "hello"}
    )
    assert r.status_code == 404


async def test_internal_notes_are_in_the_console_but_not_in_the_portal(api, anon, world, sessions):
    case = await make_case(sessions, account_id=world.acme.id, contact_id=world.ada.id)
    await event(sessions, case, "respond", "We are on it.", public=True)
    await event(sessions, case, "note", "Customer is grumpy; escalate.", public=False)

    console = (await api.get(f"/console/cases/{case.id}")).text
    assert "We are on it." in console and "Customer is grumpy; escalate." in console
    note = console[console.index("Customer is grumpy") - 600 : console.index("Customer is grumpy")]
    assert 'class="internal"' in note and "internal</span>" in note

    await log_in(anon, api, "contact", world.ada.id)
    portal = (await anon.get(f"/portal/cases/{case.id}")).text
    assert "We are on it." in portal and "Reply from support" in portal
    assert "grumpy" not in portal and "internal</span>" not in portal


async def test_knowledge_search_finds_published_articles_only(api, anon, world):
    for title, published in (("Router reset", True), ("Router draft", False)):
        r = await api.post(
            "/api/v1/knowledge", json={"title": title, "body": "Hold it.", "published": published}
        )
        assert r.status_code == 201, r.text
    await log_in(anon, api, "contact", world.ada.id)
    r = await anon.get("/portal", params={"q": "router"})
    assert "Router reset" in r.text and "Router draft" not in r.text
    r = await anon.get("/portal", params={"q": XSS})
    assert XSS not in r.text and html.escape(XSS, quote=False) in r.text


async def test_a_hostile_subject_is_shown_escaped_everywhere(api, anon, world, sessions):
    case = await make_case(
        sessions,
        subject=XSS,
        description=f"desc {XSS}",
        account_id=world.acme.id,
        contact_id=world.ada.id,
        requester_name=XSS,
    )
    await event(sessions, case, "respond", XSS, public=True)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    pages_seen = [(await api.get(p)).text for p in ("/console", f"/console/cases/{case.id}")]
    await log_in(anon, api, "contact", world.ada.id)
    pages_seen += [(await anon.get(p)).text for p in ("/portal", f"/portal/cases/{case.id}")]
    for page in pages_seen:
        assert escaped in page
        assert XSS not in page
        assert set(re.findall(r"<script[^>]*>", page)) <= {'<script src="/console/live.js" defer>'}


async def test_pages_forbid_scripts_and_framing(api):
    r = await api.get("/console")
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    # Our own script files only: nothing inline, nothing evaluated, nothing from elsewhere.
    assert "script-src 'self';" in policy and "unsafe" not in policy.split("style-src")[0]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"


# ----- forms that act (a worker runs the workflows) --------------------------------------


async def test_opening_a_case_from_the_portal_form(live, anon, world, sessions):
    await log_in(anon, live, "contact", world.ada.id)
    r = await anon.post(
        "/portal/cases", data={"subject": "Cannot print", "description": "Since Monday."}
    )
    assert r.status_code == 303, r.text
    case_id = r.headers["location"].removeprefix("/portal/cases/")
    async with sessions() as db:
        case = (await db.execute(select(Case).where(Case.id == uuid.UUID(case_id)))).scalar_one()
    assert (case.contact_id, case.account_id) == (world.ada.id, world.acme.id)
    assert (case.channel, case.subject, case.description) == (
        "portal",
        "Cannot print",
        "Since Monday.",
    )
    page = await anon.get(r.headers["location"])
    assert page.status_code == 200 and "Cannot print" in page.text
    assert f"Case {case.number} is open" in page.text  # the flash message
    assert case.number in (await anon.get("/portal")).text


async def test_the_portal_form_sent_twice_opens_one_case(live, anon, world, sessions):
    await log_in(anon, live, "contact", world.ada.id)
    page = (await anon.get("/portal")).text
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    form = {"subject": "Cannot print", "description": "Since Monday.", "key": key}
    first, again = [await anon.post("/portal/cases", data=form) for _ in range(2)]
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    async with sessions() as db:
        assert len((await db.execute(select(Case))).all()) == 1
    fresh = re.search(r'name="key" value="([^"]+)"', (await anon.get("/portal")).text).group(1)
    assert fresh != key  # the next form is a new case


async def test_a_bad_portal_form_is_shown_again_with_the_error(live, anon, world, sessions):
    await log_in(anon, live, "contact", world.ada.id)
    r = await anon.post("/portal/cases", data={"subject": "  ", "description": "kept"})
    assert r.status_code == 422
    assert "one-line subject" in r.text and ">kept</textarea>" in r.text
    async with sessions() as db:
        assert (await db.execute(select(Case))).first() is None


async def test_console_forms_act_and_refusals_come_back_as_messages(live, anon, world, sessions):
    await log_in(anon, live, "contact", world.ada.id)
    r = await anon.post("/portal/cases", data={"subject": "Cannot print"})
    case_id = r.headers["location"].removeprefix("/portal/cases/")
    # A 409 from the workflow: a customer cannot accept a case that is not resolved.
    r = await anon.post(f"/portal/cases/{case_id}/actions/accept")
    assert r.status_code == 303 and r.headers["location"] == f"/portal/cases/{case_id}"
    page = (await anon.get(r.headers["location"])).text
    assert 'class="flash error"' in page and "cannot accept a case that is" in page
    # The message is shown once.
    assert 'class="flash' not in (await anon.get(f"/portal/cases/{case_id}")).text

    agent = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=live.app), base_url="http://casework.test"
    )
    async with agent:
        await log_in(agent, live, "agent", world.ann.id)
        url = f"/console/cases/{case_id}"
        r = await agent.post(f"{url}/actions/respond", data={"body": ""})  # 422: body required
        page = (await agent.get(r.headers["location"])).text
        assert 'class="flash error"' in page and "body is required" in page

        r = await agent.post(f"{url}/actions/respond", data={"body": "Which printer?"})
        assert r.status_code == 303
        page = (await agent.get(url)).text
        assert "Reply sent to the customer." in page and "Which printer?" in page

        r = await agent.post(f"{url}/actions/note", data={"body": "Probably the toner."})
        page = (await agent.get(url)).text
        assert "Internal note added." in page and "Probably the toner." in page

        r = await agent.post(f"{url}/actions/change-priority", data={"priority": "2"})
        page = (await agent.get(url)).text
        assert "Priority changed." in page and 'title="priority 2"' in page

        r = await agent.post(f"{url}/actions/await-info", data={"body": "Which tray?"})
        page = (await agent.get(url)).text
        assert "the case waits for the customer" in page and "Which tray?" in page
        assert (await live.get(f"/api/v1/cases/{case_id}")).json()["state"] == "awaiting_info"
        await anon.post(f"/portal/cases/{case_id}/actions/customer-reply", data={"body": "Two"})

        r = await agent.post(f"{url}/actions/resolve", data={"resolution": "New toner."})
        page = (await agent.get(url)).text
        assert "Resolution proposed" in page and "resolved" in page

        r = await agent.post(f"{url}/actions/cancel", data={})
        assert r.status_code == 404  # only the forms the page offers

    portal = (await anon.get(f"/portal/cases/{case_id}")).text
    assert "Which printer?" in portal and "New toner." in portal
    assert "toner." not in portal.replace("New toner.", "")  # the internal note is not there
    r = await anon.post(f"/portal/cases/{case_id}/actions/accept")
    page = (await anon.get(r.headers["location"])).text
    assert "the case is closed" in page


# ----- every template renders with sample data -------------------------------------------


def test_every_template_renders_with_sample_data():
    now = datetime.now(UTC)
    who = SimpleNamespace(role="admin", is_staff=True, is_customer=False)
    request = SimpleNamespace(url=SimpleNamespace(path="/console"))
    row = {
        "id": uuid.uuid4(),
        "number": "CS0001000",
        "subject": "Router down",
        "state": "open",
        "priority": 1,
        "queue": "network",
        "channel": "email",
        "requester": "Ada",
        "assignee": None,
        "breached": True,
        "created_at": now,
        "due_at": now,
        "remaining": -90,
        "clock": {"name": "Gold", "kind": "response"},
        "clocks": [{"name": "Gold", "kind": "response", "state": "paused"}],
        "waiting_since": now,
    }
    asset = SimpleNamespace(id="a1", serial="S1", location="HQ")
    work_order = SimpleNamespace(number="WO0000001", state="dispatched", window_start=now)
    article = SimpleNamespace(
        id="k1",
        title="Reset",
        body="Hold",
        tags=["howto"],
        snippet="<mark>Hold</mark>",
        for_your_products=True,
    )
    case = {
        "id": row["id"],
        "number": "CS0001000",
        "subject": "Router down",
        "state": "resolved",
        "priority": 2,
        "channel": "portal",
        "description": "d",
        "resolution": "r",
        "queue": None,
        "assigned_agent_id": None,
        "breached": False,
        "created_at": now,
        "updated_at": now,
        "resolved_at": now,
        "reopen_window_ends_at": now,
        "reopen_count": 1,
        "closed_at": None,
        "csat": {"score": 4, "comment": "ok"},
        "requester_name": "Ada",
        "sla": [clock("Gold", "response", now, warned=True)],
    }
    attachment = {"filename": "crash.log", "content_type": "text/plain", "size": 1200}
    attachment |= {"url": "/api/v1/cases/c/attachments/a"}
    agent = {"id": uuid.uuid4(), "name": "Ann", "role": "agent", "status": "available"}
    agent |= {"load": 5, "capacity": 5, "percent": 100}
    common = {"who": who, "who_name": "Root", "flash": {"kind": "ok", "text": "Done"}}
    common["home"] = "/console"
    samples = {
        "login.html": {
            "title": "Sign in",
            "error": "nope",
            "next": "/console",
            "sent": True,
            "refused": {"title": "This sign-in link was already used", "detail": "Ask again"},
        },
        "login_confirm.html": {
            "title": "Sign in",
            "value": "abc.def",
            "person": SimpleNamespace(name="Ada", email="a@x", role="contact"),
        },
        "account.html": {
            "title": "Your sessions",
            "sessions": [
                {"id": uuid.uuid4(), "created_at": now, "via": "email-link"}
                | {"last_seen_at": now, "expires_at": now, "current": True}
            ],
        },
        "partner.html": {"title": "Assigned", "cases": [SimpleNamespace(**case)]},
        "partner_case.html": {
            "title": "Case",
            "case": SimpleNamespace(**case),
            "events": [
                SimpleNamespace(kind="note", at=now, actor_role="agent", public=False, body="b")
            ],
            "offered": ["respond", "note"],
            "summaries": {"respond": "Reply", "note": "Note"},
        },
        "error.html": {"title": "Not found", "status": 404, "detail": "no", "home": "/console"},
        "console.html": {
            "title": "Console",
            "now": now,
            "refresh_seconds": 30,
            "filters": {"queue": "network", "priority": 1},
            "priorities": (1, 2, 3, 4),
            "queues": [
                {"name": None, "open": 1, "waiting": 0, "awaiting": 1, "breached": 1}
                | {"oldest_waiting": now, "waiting_by_priority": {1: 1, 2: 0, 3: 0, 4: 0}}
            ],
            "at_risk": [row],
            "at_risk_next": "/console?risk_page=x",
            "at_risk_hours": 4,
            "waiting": [row],
            "waiting_next": "/console?waiting_page=x",
            "agents": [agent],
            "recent": [row],
        },
        "console_case.html": {
            "title": "Case",
            "case": case,
            "customer": {
                "account": {"id": uuid.uuid4(), "name": "Acme", "type": "customer"},
                "parent": {"id": uuid.uuid4(), "name": "Acme Group"},
                "health": health_score.score(
                    health_score.HealthInputs(csat_answers=1, csat_average=2)
                ),
                "person": {"name": "Ada", "email": "a@x", "phone": "+1"},
                "person_kind": "contact",
                "major_cases": [
                    SimpleNamespace(
                        id=uuid.uuid4(), number="CS0000900", subject="Outage", state="open"
                    )
                ],
                "entitlement": {
                    "name": "Gold",
                    "tier": "gold",
                    "active": False,
                    "ends_on": now.date(),
                    "units_kind": "cases",
                    "units_total": 10,
                    "units_used": 10,
                    "units_left": 0,
                },
                "assets": [
                    {
                        "id": 1,
                        "product": "Router",
                        "serial": "S1",
                        "location": "HQ",
                        "this_case": True,
                    }
                ],
                "open_cases": [row],
                "recent_cases": [row],
            },
            "workflow": {
                "workflow_id": "case-1",
                "run_id": "r",
                "status": "RUNNING",
                "history_length": 12,
                "continued_as_new": 1,
                "next_deadline": {"at": now, "what": "sla_breach"},
                "pending_activities": [
                    {"activity_type": "send", "state": "STARTED", "attempt": 2, "last_failure": "x"}
                ],
                "children": [
                    {"workflow_id": "wo-1", "workflow_type": "W", "work_order_number": None}
                ],
                "ui_url": "http://ui/x",
            },
            "workflow_problem": None,
            "assignee": "Ann",
            "events": [
                {
                    "kind": "note",
                    "at": now,
                    "actor": "agent",
                    "public": False,
                    "body": "b",
                    "details": [("agent", "Ann")],
                }
            ],
            "attachments": [attachment],
            "partners": [{"id": uuid.uuid4(), "name": "FixIt Partners"}],
            "partner_account_id": None,
            "notifications": [
                SimpleNamespace(
                    template="reply",
                    recipient="a@x",
                    recipient_name=None,
                    subject=None,
                    status="failed",
                    last_error="550",
                    sent_at=None,
                )
            ],
            "agents": [agent],
            "actions": list(CONSOLE_ACTIONS),
        },
        "portal.html": {
            "title": "Your cases",
            "banners": [{"kind": "error", "text": "Outage"}],
            "action_needed": [SimpleNamespace(**case)],
            "cases": [SimpleNamespace(**case)],
            "account_cases": [SimpleNamespace(**case)],
            "is_contact": True,
            "assets": [(asset, SimpleNamespace(name="Router"))],
            "work_orders": {asset.id: [work_order]},
            "states": CUSTOMER_STATES,
            "q": "router",
            "articles": [article],
            "key": "k",
        },
        "portal_new.html": {
            "title": "Open a case",
            "form": {
                "subject": "s",
                "description": "",
                "key": "k",
                "product": "p1",
                "asset": "a1",
                "issue_type": "Setup",
                "symptom": "Update",
            },
            "error": "bad",
            "suggestions": [article],
            "assets": [(asset, SimpleNamespace(name="Router"))],
            "products": [SimpleNamespace(id="p1", name="Router")],
            "issue_types": {"Setup": ("Update",)},
        },
        "console_events.html": {
            "title": "Events",
            "events": [
                {
                    "id": uuid.uuid4(),
                    "source": "nagios",
                    "event_id": "e-1",
                    "summary": "Router X firmware crash",
                    "severity": 2,
                    "major_case_id": uuid.uuid4(),
                    "major_case_number": "CS0001001",
                    "affected": 4,
                    "bars": [("opened", 4, 100), ("notified", 3, 75), ("resolved", 0, 0)],
                    "cleared_at": None,
                }
            ],
            "next": "/console/events?page=x",
        },
        "console_metrics.html": {
            "title": "Metrics",
            "since": now.date(),
            "until": now.date(),
            "cards": [
                {"key": "k", "name": "N", "number": "1", "detail": "d", "chart": "<svg></svg>"}
            ],
        },
        "console_accounts.html": {
            "title": "Customer health",
            "since": now,
            "until": now,
            "accounts": [
                {
                    "account_id": uuid.uuid4(),
                    "name": "Acme",
                    "parent_id": None,
                    "score": 41,
                    "band": "at_risk",
                    "reasons": ["CSAT 1.0 / 5 from 2 answers"],
                    "factors": [
                        {"name": "csat", "value": 1.0, "penalty": 20.0, "reason": "CSAT 1.0 / 5"},
                        {"name": "reopen_rate", "value": None, "penalty": 0.0, "reason": "none"},
                    ],
                }
            ],
            "next": "/console/accounts?page=x",
            "weights": health_score.WEIGHTS,
        },
        "portal_case.html": {
            "title": "Case",
            "case": SimpleNamespace(**case),
            "state_label": "Resolved",
            "events": [{"label": "Reply", "at": now, "by": "You", "body": "b"}],
            "attachments": [attachment],
            "can_reply": True,
            "can_decide": True,
            "can_rate": True,
            "product": SimpleNamespace(name="Router"),
            "asset": SimpleNamespace(serial="S1", location="HQ"),
            "issue": "Setup · Update",
        },
    }
    names = [n for n in env.list_templates() if n.endswith(".html")]
    # The base, the macros and the partials render through the pages that use them.
    names = [n for n in names if n != "base.html" and not n.startswith("_")]
    assert sorted(names) == sorted(samples)
    for name, context in samples.items():
        out = env.get_template(name).render(common | context | {"request": request})
        assert "</html>" in out, name


async def test_the_survey_link_leads_to_a_rating_the_case_then_shows(live, anon, world, sessions):
    case = await make_case(
        sessions, state="closed", contact_id=world.ada.id, account_id=world.acme.id
    )
    await log_in(anon, live, "contact", world.ada.id)
    r = await anon.get(f"/portal/cases/{case.id}/survey")  # the link in the survey mail
    assert r.status_code == 303 and r.headers["location"] == f"/portal/cases/{case.id}#survey"
    page = (await anon.get(f"/portal/cases/{case.id}")).text
    assert "How did we do?" in page and 'name="score"' in page
    r = await anon.post(f"/portal/cases/{case.id}/survey", data={"score": "5", "comment": "Great"})
    assert r.status_code == 303
    page = (await anon.get(f"/portal/cases/{case.id}")).text
    assert "Thank you for your rating" in page and "5 of 5: Great" in page
    assert "How did we do?" not in page
    r = await anon.post(f"/portal/cases/{case.id}/survey", data={"score": "1"})
    assert "has been answered" in (await anon.get(r.headers["location"])).text
    async with sessions() as db:
        (row,) = (await db.execute(select(CsatResponse))).scalars().all()
    assert (row.score, row.comment) == (5, "Great")
