"""The portal in a real browser on the real stack (Temporal dev server, PostgreSQL, worker,
uvicorn): a contact searches and is deflected by an article (no case opened, the deflection
counted); another opens a case against an asset, rejects the first resolution and accepts the
second, then answers the survey; a contact of one account gets the 404 page for another's case.
Screenshots under tests/artifacts/. Sign-in here is by token (the email link is another test's)."""

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import stack  # noqa: F401
from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS, async_api, post

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


async def sign_in(browser, base: str, http, role: str, subject_id: str):
    """A fresh browser context signed in through the token form."""
    token = (await post(http, "/tokens", {"role": role, "subject_id": subject_id}))["token"]
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("input[name=token]", token)
    await page.get_by_role("button", name="Sign in with the token").click()
    await page.wait_for_url(f"{base}/portal")
    return page


async def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"portal-{name}.png", full_page=True)


async def act(http, as_agent: dict, case_id: str, action: str, **body) -> dict:
    r = await http.post(f"/api/v1/cases/{case_id}/actions/{action}", json=body, headers=as_agent)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_portal_deflects_opens_decides_and_hides_in_a_browser(stack):  # noqa: F811
    http = stack["http"]
    base = str(http.base_url).rstrip("/")
    initech = await post(http, "/accounts", {"name": "Initech", "domains": ["initech.example"]})
    globex = await post(http, "/accounts", {"name": "Globex", "domains": ["globex.example"]})
    peter = await post(
        http,
        "/contacts",
        {"name": "Peter", "email": "peter@initech.example", "account_ids": [initech["id"]]},
    )
    homer = await post(
        http,
        "/contacts",
        {"name": "Homer", "email": "homer@globex.example", "account_ids": [globex["id"]]},
    )
    ann = await post(http, "/agents", {"name": "Ann Agent", "email": "ann@casework.example"})
    ann_token = (await post(http, "/tokens", {"role": "agent", "subject_id": ann["id"]}))["token"]
    as_ann = {"Authorization": f"Bearer {ann_token}"}
    printer = await post(http, "/products", {"name": "Lumen Printer P5"})
    reactor = await post(http, "/products", {"name": "Core Monitor C1"})
    asset = await post(
        http,
        "/assets",
        {
            "product_id": reactor["id"],
            "serial": "CM-7G",
            "account_id": globex["id"],
            "location": "Sector 7G",
        },
    )
    jam = await post(
        http,
        "/knowledge",
        {
            "title": "Clear a paper jam in the Lumen Printer P5",
            "body": "Open the rear door and pull the stuck paper out slowly with both hands.",
            "product_id": printer["id"],
            "tags": ["paper jam"],
        },
    )
    await post(
        http,
        "/knowledge",
        {"title": "Calibrate the core monitor", "body": "Run the calibration from the menu."},
    )

    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # ----- Peter searches, and the article answers it: no case.
            page = await sign_in(browser, base, http, "contact", peter["id"])
            await page.fill("input[name=q]", "paper stuck in the printer")
            await page.get_by_role("button", name="Search").click()
            await page.wait_for_url(re.compile(r".*/portal\?q="))
            found = page.locator(f"#article-{jam['id']}")
            assert await found.locator("mark").count() >= 1  # the highlighted snippet
            await shot(page, "1-search")
            await found.get_by_role("button", name="This solved it").click()
            await page.wait_for_url(f"{base}/portal")
            assert "No case was opened" in await page.locator(".flash.ok").inner_text()
            await shot(page, "2-deflected")
            cases = (await http.get("/api/v1/cases")).json()["items"]
            assert cases == []
            rate = (await http.get("/api/v1/metrics/deflection")).json()["total"]
            assert (rate["count"], rate["of"]) == (1, 1)
            assert (await http.get(f"/api/v1/knowledge/{jam['id']}")).json()["deflections"] == 1

            # ----- Homer opens a case against his asset, through the search-first step.
            page = await sign_in(browser, base, http, "contact", homer["id"])
            await page.fill("#open-case input[name=subject]", "Core monitor shows an error")
            await page.get_by_role("button", name="Next").click()
            await page.wait_for_url(re.compile(r".*/portal/new\?"))
            assert await page.get_by_text("Calibrate the core monitor").count() == 1
            # Typing another subject brings its articles up in place, with no page load.
            url = page.url
            await page.locator("#subject").fill("")
            await page.locator("#subject").press_sequentially("paper jam", delay=30)
            suggested = page.locator('[data-live="suggestions"][data-for="paper jam"]')
            await suggested.get_by_text("Clear a paper jam").wait_for(timeout=10_000)
            assert page.url == url
            await page.locator("#subject").fill("Core monitor shows an error")
            await page.select_option("select[name=asset]", asset["id"])
            await page.select_option("select[name=issue_type]", "Not working")
            await page.select_option("select[name=symptom]", "Error message")
            await page.fill("textarea[name=description]", "Red light since the drill.")
            await shot(page, "3-new-case")
            await page.get_by_role("button", name="Open case").click()
            await page.wait_for_url(re.compile(r".*/portal/cases/[0-9a-f-]+$"))
            case_id = page.url.rsplit("/", 1)[1]
            view = (await http.get(f"/api/v1/cases/{case_id}")).json()
            assert (view["asset_id"], view["product_id"]) == (asset["id"], reactor["id"])
            assert view["channel"] == "portal"

            await act(http, as_ann, case_id, "resolve", resolution="Recalibrated it remotely.")
            await page.goto(f"{base}/portal")
            assert await page.locator("#action-needed").get_by_text(view["number"]).count() == 1
            await page.locator("#action-needed").get_by_role("link", name=view["number"]).click()
            await page.get_by_text("No, it is not solved").click()
            await page.fill("textarea[name=reason]", "Still red.")
            await shot(page, "4-reject")
            await page.get_by_role("button", name="Reopen the case").click()
            await page.wait_for_url(f"{base}/portal/cases/{case_id}")
            assert "open again" in await page.locator(".flash.ok").inner_text()
            assert (await http.get(f"/api/v1/cases/{case_id}")).json()["reopen_count"] == 1

            await act(http, as_ann, case_id, "resolve", resolution="Replaced the sensor.")
            await page.reload()
            await page.get_by_role("button", name="Yes, close the case").click()
            await page.wait_for_url(f"{base}/portal/cases/{case_id}")
            await page.locator("input[name=score][value='4']").check()
            await page.fill("textarea[name=comment]", "Second time lucky.")
            await shot(page, "5-survey")
            await page.get_by_role("button", name="Send").click()
            await page.wait_for_url(f"{base}/portal/cases/{case_id}")
            assert await page.get_by_text("4 of 5: Second time lucky.").count() == 1
            await shot(page, "6-rated")
            view = (await http.get(f"/api/v1/cases/{case_id}")).json()
            assert view["state"] == "closed" and view["csat"]["score"] == 4

            # ----- Peter (Initech) cannot reach Homer's (Globex) case by its URL.
            page = await sign_in(browser, base, http, "contact", peter["id"])
            response = await page.goto(f"{base}/portal/cases/{case_id}")
            assert response.status == 404
            assert "404" in await page.locator("h1").inner_text()
            assert "Core monitor" not in await page.content()
            await shot(page, "7-not-found")
        finally:
            await browser.close()
    rate = (await http.get("/api/v1/metrics/deflection")).json()["total"]
    assert (rate["count"], rate["of"]) == (1, 2)  # one deflection, one portal case
    assert all((ARTIFACTS / f"portal-{n}.png").stat().st_size > 10_000 for n in ("1-search",))
