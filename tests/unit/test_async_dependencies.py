"""Every dependency the API's routes and pages use is `async def`: FastAPI runs a plain `def`
one in its thread pool, a thread hop on every request (a tenth of the API's CPU on
POST /cases when the sessions and settings dependencies were plain)."""

import inspect

from fastapi.routing import APIRoute

from api.app import create_app
from casework.settings import Settings


def calls(dependant) -> list:
    found = []
    for dep in dependant.dependencies:
        found.append(dep.call)
        found += calls(dep)
    return found


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, through the included routers."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (router := getattr(route, "original_router", None)) is not None:
            found += api_routes(router.routes)
    return found


def test_no_dependency_runs_in_the_thread_pool():
    app = create_app(Settings())
    routes = api_routes(app.routes)
    assert len(routes) > 50
    plain = {
        f"{c.__module__}.{c.__qualname__}"
        for r in routes
        for c in calls(r.dependant)
        if not (inspect.iscoroutinefunction(c) or inspect.isasyncgenfunction(c))
    }
    assert plain == set()
