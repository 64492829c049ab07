"""In a real browser on the real stack: a contact signs in by the link mailed to them (read
from the SMTP sink) and lands on the portal; a partner signs in and sees only the case
assigned to their account. Screenshots go to tests/artifacts/."""

import asyncio
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import stack  # noqa: F401
from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS, async_api, post

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LINK = re.compile(r"(https?://\S+/login/link/\S+)")


async def mailed_link(sink, recipient: str, timeout: float = 20) -> str:
    """The sign-in link in the newest sign-in mail to `recipient`."""
    for _ in range(int(timeout / 0.1)):
        for mail in reversed(sink.messages):
            if recipient in mail.rcpt_tos and "sign-in link" in mail.message["Subject"]:
                text = mail.message.get_body(("plain",)).get_content()
                return LINK.search(text).group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no sign-in mail to {recipient}")


async def routed(http, case_id: str, timeout: float = 30) -> dict:
    """The case once intake and routing have run."""
    for _ in range(int(timeout / 0.1)):
        view = (await http.get(f"/api/v1/cases/{case_id}")).json()
        if view["assigned_agent_id"]:
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(view)


async def launch(pw):
    return await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


async def test_a_contact_signs_in_by_the_mailed_link(stack):  # noqa: F811
    http, sink = stack["http"], stack["sink"]
    base = str(http.base_url).rstrip("/")
    ARTIFACTS.mkdir(exist_ok=True)
    account = await post(http, "/accounts", {"name": "Umbrella", "domains": ["umbrella.example"]})
    ada = await post(
        http,
        "/contacts",
        {"name": "Ada Lovelace", "email": "ada@umbrella.example", "account_ids": [account["id"]]},
    )
    await post(http, "/agents", {"name": "Ann Agent", "email": "ann@casework.example"})
    opened = await post(
        http,
        "/cases",
        {"subject": "Centrifuge wobbles", "channel": "email", "contact_id": ada["id"]},
    )
    await routed(http, opened["id"])

    async with async_api.async_playwright() as pw:
        browser = await launch(pw)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(f"{base}/portal")  # not signed in: sent to the form
            assert "/login" in page.url
            await page.fill("input[name=email]", "ada@umbrella.example")
            await page.get_by_role("button", name="Email me a sign-in link").click()
            await page.get_by_text("Check your mail").wait_for()
            await page.screenshot(path=ARTIFACTS / "sign-in-asked.png", full_page=True)

            link = await mailed_link(sink, "ada@umbrella.example")
            assert link.startswith(f"{base}/login/link/")
            await page.goto(link)
            await page.get_by_text("Sign in as").wait_for()
            await page.screenshot(path=ARTIFACTS / "sign-in-confirm.png", full_page=True)
            await page.get_by_role("button", name="Sign in", exact=True).click()
            await page.wait_for_url(f"{base}/portal")
            assert await page.get_by_text("Ada Lovelace · contact").count() == 1
            assert await page.get_by_text("Centrifuge wobbles").count() >= 1
            cookies = await page.context.cookies()
            session = next(c for c in cookies if c["name"] == "casework_token")
            assert session["httpOnly"] and session["value"].startswith("cws_")
            await page.screenshot(path=ARTIFACTS / "sign-in-portal.png", full_page=True)

            # The link is spent: a second visit says so.
            await page.goto(link)
            await page.get_by_text("This sign-in link was already used").wait_for()
            await page.screenshot(path=ARTIFACTS / "sign-in-used.png", full_page=True)

            # Log out: the session ends on the server; its cookie no longer works.
            await page.goto(f"{base}/portal")
            await page.get_by_role("button", name="Log out").click()
            await page.wait_for_url(f"{base}/login")
        finally:
            await browser.close()
    r = await http.get(
        "/api/v1/tokens/me",
        headers={"Authorization": ""},
        cookies={"casework_token": session["value"]},
    )
    assert r.status_code == 401
    r = await http.get(f"/api/v1/sessions?subject_id={ada['id']}")
    (listed,) = r.json()["items"]
    assert listed["via"] == "email-link" and listed["revoked_at"] is not None


async def test_a_partner_sees_only_the_case_assigned_to_them(stack):  # noqa: F811
    http = stack["http"]
    base = str(http.base_url).rstrip("/")
    ARTIFACTS.mkdir(exist_ok=True)
    customer = await post(http, "/accounts", {"name": "Tyrell", "domains": ["tyrell.example"]})
    partner = await post(http, "/accounts", {"name": "Deckard Repairs", "type": "partner"})
    rachael = await post(
        http,
        "/contacts",
        {"name": "Rachael", "email": "rachael@tyrell.example", "account_ids": [customer["id"]]},
    )
    await post(http, "/agents", {"name": "Bob Agent", "email": "bob@casework.example"})
    ids = {}
    for subject in ("Owl replicant limps", "Elevator stuck on 97"):
        opened = await post(
            http, "/cases", {"subject": subject, "channel": "email", "contact_id": rachael["id"]}
        )
        ids[subject] = (await routed(http, opened["id"]))["id"]
    mine, other = ids["Owl replicant limps"], ids["Elevator stuck on 97"]
    r = await http.post(
        f"/api/v1/cases/{mine}/actions/assign-partner",
        json={"partner_account_id": partner["id"]},
    )
    assert r.status_code == 200, r.text
    token = (await post(http, "/tokens", {"role": "partner", "subject_id": partner["id"]}))["token"]

    async with async_api.async_playwright() as pw:
        browser = await launch(pw)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(f"{base}/partner")
            assert "/login" in page.url
            await page.fill("input[name=token]", token)
            await page.get_by_role("button", name="Sign in with the token").click()
            await page.wait_for_url(f"{base}/partner")
            assert await page.get_by_text("Deckard Repairs · partner").count() == 1
            assert await page.get_by_text("Owl replicant limps").count() == 1
            assert await page.get_by_text("Elevator stuck on 97").count() == 0
            await page.screenshot(path=ARTIFACTS / "partner-cases.png", full_page=True)

            await page.get_by_text("Owl replicant limps").wait_for()
            await page.locator(f"a[href='/partner/cases/{mine}']").click()
            await page.wait_for_url(f"{base}/partner/cases/{mine}")
            await page.fill("textarea[name=body] >> nth=0", "We will fix the owl at noon.")
            await page.get_by_role("button", name="Reply").click()
            await page.wait_for_url(f"{base}/partner/cases/{mine}")
            assert await page.locator(".flash.ok").inner_text() == "Reply sent to the customer."
            await page.screenshot(path=ARTIFACTS / "partner-case.png", full_page=True)

            response = await page.goto(f"{base}/partner/cases/{other}")
            assert response.status == 404
            await page.screenshot(path=ARTIFACTS / "partner-other-case-404.png", full_page=True)
        finally:
            await browser.close()
    events = (await http.get(f"/api/v1/cases/{mine}/timeline")).json()["items"]
    assert any(e["kind"] == "respond" and e["actor_role"] == "partner" for e in events)
