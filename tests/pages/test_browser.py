"""One real browser on a real server: a supervisor signs in through the form, reads the console,
opens a case and reassigns it. Needs the `playwright` package and Debian's Chromium; skipped
without them."""

import asyncio
import os

import pytest

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# CI installs both (.ci/run), so there a missing browser is a failure, not a skip.
if os.environ.get("CI") == "true":
    from playwright import async_api

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is not installed"
else:
    async_api = pytest.importorskip("playwright.async_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

# The e2e stack: Temporal dev server, PostgreSQL, SMTP sink, worker and uvicorn on free ports.
from tests.e2e.conftest import stack  # noqa: E402, F401


async def post(http, path: str, body: dict) -> dict:
    r = await http.post(f"/api/v1{path}", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def settled(http, case_id: str, timeout: float = 30) -> dict:
    for _ in range(int(timeout / 0.1)):
        view = (await http.get(f"/api/v1/cases/{case_id}")).json()
        if view["assigned_agent_id"] and view["sla"]:
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(view)


async def test_a_supervisor_signs_in_and_works_a_case_in_a_browser(stack, tmp_path):  # noqa: F811
    http = stack["http"]
    base = str(http.base_url).rstrip("/")
    await post(http, "/accounts", {"name": "Initech", "domains": ["initech.example"]})
    ann = await post(http, "/agents", {"name": "Ann Agent", "email": "ann@casework.example"})
    bob = await post(http, "/agents", {"name": "Bob Agent", "email": "bob@casework.example"})
    sue = await post(
        http,
        "/agents",
        {"name": "Sue Supervisor", "email": "sue@casework.example", "role": "supervisor"},
    )
    for kind, hours in (("response", 2), ("resolution", 24)):
        await post(
            http,
            "/sla-definitions",
            {
                "name": f"Standard {kind}",
                "kind": kind,
                "duration_seconds": hours * 3600,
                "default_for_priority": 3,
            },
        )
    opened = await post(
        http,
        "/cases",
        {
            "subject": "TPS report printer jams",
            "channel": "email",
            "email": "peter@initech.example",
            "name": "Peter Gibbons",
            "description": "Every cover sheet jams the printer.",
        },
    )
    case = await settled(http, opened["id"])
    other = bob if case["assigned_agent_id"] == ann["id"] else ann
    token = (await post(http, "/tokens", {"role": "supervisor", "subject_id": sue["id"]}))["token"]

    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 900})
            await page.goto(f"{base}/console")  # not signed in: sent to the form
            assert "/login" in page.url
            await page.fill("input[name=token]", token)
            await page.get_by_role("button", name="Sign in with the token").click()
            await page.wait_for_url(f"{base}/console")
            assert await page.locator("h1").first.inner_text() == "Console" or "Console" in (
                await page.locator("h1").first.inner_text()
            )
            assert await page.get_by_text("TPS report printer jams").count() >= 1
            assert await page.get_by_text("Sue Supervisor · supervisor").count() == 1
            await page.screenshot(path=tmp_path / "console.png", full_page=True)

            await page.get_by_role("link", name=case["number"]).first.click()
            await page.wait_for_url(f"{base}/console/cases/{case['id']}")
            assert await page.get_by_text("Standard response").count() == 1
            assert await page.get_by_text("Every cover sheet jams the printer.").count() >= 1
            await page.screenshot(path=tmp_path / "case.png", full_page=True)

            # A real form post: Chromium's Origin header must pass the CSRF check.
            await page.select_option("select[name=agent_id]", other["id"])
            await page.get_by_role("button", name="Assign").click()
            await page.wait_for_url(f"{base}/console/cases/{case['id']}")
            assert await page.locator(".flash.ok").inner_text() == "Case assigned."
            await page.screenshot(path=tmp_path / "assigned.png", full_page=True)
        finally:
            await browser.close()
    view = (await http.get(f"/api/v1/cases/{case['id']}")).json()
    assert view["assigned_agent_id"] == other["id"]
    assert all((tmp_path / f).stat().st_size > 10_000 for f in ("console.png", "case.png"))
