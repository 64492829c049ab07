"""A real browser opens /docs and /redoc with nothing reachable beyond this machine and sees the
operations listed: the docs' scripts come from the API itself, not a CDN. Needs the
`playwright` package and Debian's Chromium (CI installs both; skipped elsewhere without)."""

import asyncio
from urllib.parse import urlsplit

import pytest
import uvicorn

from api.app import create_app
from casework.devstack import free_port
from casework.settings import Settings
from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS, async_api

pytestmark = pytest.mark.slow


@pytest.fixture
async def base_url():
    port = free_port()
    app = create_app(Settings(_env_file=None))  # the docs need neither database nor Temporal
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


async def open_offline(browser, url: str, elsewhere: list[str]):
    """A page on which every request to another host is refused (and noted)."""
    page = await browser.new_page()
    own = urlsplit(url).netloc

    async def only_ours(route):
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_ours)
    return page


async def test_swagger_ui_and_redoc_list_the_operations_offline(base_url):
    elsewhere: list[str] = []
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await open_offline(browser, f"{base_url}/docs", elsewhere)
            await page.goto(f"{base_url}/docs")
            operations = page.locator(".opblock-summary-path")
            await operations.first.wait_for(timeout=20_000)
            paths = set(await operations.all_inner_texts())
            assert {"/api/v1/cases", "/healthz"} <= {p.replace("\u200b", "") for p in paths}

            page = await open_offline(browser, f"{base_url}/redoc", elsewhere)
            await page.goto(f"{base_url}/redoc")
            listed = page.locator("[data-section-id^='operation/']")
            await listed.first.wait_for(state="attached", timeout=30_000)
            assert await listed.count() > 20
        finally:
            await browser.close()
    assert elsewhere == []
