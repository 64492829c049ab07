"""The API's documentation pages, Swagger UI at /docs and ReDoc at /redoc, with their scripts
and styles served by the API itself from the fastapi-standalone-docs package: they work
offline and behind a firewall, and load nothing from a CDN."""

from functools import cache
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import Response

from api.errors import Problem

ASSETS_URL = "/docs/assets"
# What the pages load: our name -> (the file in the package's static folder, its type).
ASSETS = {
    "swagger-ui-bundle.js": ("swagger/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger/swagger-ui.css", "text/css"),
    "redoc.standalone.js": ("redoc/redoc.standalone.js", "text/javascript"),
    "favicon.png": ("fastapi/favicon.png", "image/png"),
}
# Swagger UI would otherwise show a badge fetched from validator.swagger.io.
SWAGGER_PARAMETERS = {"validatorUrl": None, "persistAuthorization": True}


@cache
def asset(name: str) -> bytes:
    path, _ = ASSETS[name]
    return (files("fastapi_standalone_docs") / "static" / path).read_bytes()


def install(app: FastAPI) -> None:
    """Create the app with docs_url=None and redoc_url=None, then call this."""
    page = {"openapi_url": app.openapi_url or "/openapi.json", "title": f"{app.title} API"}
    swagger = {
        "swagger_js_url": f"{ASSETS_URL}/swagger-ui-bundle.js",
        "swagger_css_url": f"{ASSETS_URL}/swagger-ui.css",
        "swagger_favicon_url": f"{ASSETS_URL}/favicon.png",
        "swagger_ui_parameters": SWAGGER_PARAMETERS,
    }
    redoc = {
        "redoc_js_url": f"{ASSETS_URL}/redoc.standalone.js",
        "redoc_favicon_url": f"{ASSETS_URL}/favicon.png",
        "with_google_fonts": False,
    }
    app.get("/docs", include_in_schema=False)(lambda: get_swagger_ui_html(**page, **swagger))
    app.get("/redoc", include_in_schema=False)(lambda: get_redoc_html(**page, **redoc))

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            raise Problem(404, f"no such asset {name!r}")
        # The files change only with the package: let browsers keep them for a day.
        headers = {"Cache-Control": "public, max-age=86400"}
        return Response(asset(name), media_type=ASSETS[name][1], headers=headers)
