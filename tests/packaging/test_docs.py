"""/docs and /redoc come with their scripts and styles from the package: every URL the pages
load is the API's own, and each answers."""

import re

import httpx
import pytest

from api.app import create_app
from casework.settings import Settings

LOADED = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.fixture
async def http():
    app = create_app(Settings(_env_file=None))  # no lifespan: the docs need no database
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://casework.test") as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_the_apis_own_assets(http, page):
    r = await http.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = LOADED.findall(r.text)
    assert len(urls) >= 2, r.text  # a script and a favicon at least
    assert "//" not in r.text, "a page names another host"
    for url in urls:
        assert url.startswith("/"), url
        asset = await http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
        assert asset.headers["cache-control"] == "public, max-age=86400"
    kinds = {(await http.get(u)).headers["content-type"].split(";")[0] for u in urls}
    assert "text/javascript" in kinds


async def test_swagger_ui_finds_the_openapi_document(http):
    page = (await http.get("/docs")).text
    assert "url: '/openapi.json'" in page
    assert '"validatorUrl": null' in page  # no badge fetched from validator.swagger.io
    assert (await http.get("/openapi.json")).json()["paths"]


async def test_an_unknown_asset_is_not_found(http):
    assert (await http.get("/docs/assets/../../etc/passwd")).status_code == 404
    assert (await http.get("/docs/assets/nothing.js")).status_code == 404
