"""The FastAPI application: lifespan opens the database engine and the Temporal connector."""

import gc
import logging
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api import docs, errors, observability, openapi
from api.auth import PrincipalCache, ensure_admin_token
from api.deps import TemporalConnector
from api.pages import account, console, console_events, login, partner, portal, portal_open
from api.rate_limit import RateLimits
from api.routes import (
    cases,
    data_debt,
    events,
    health,
    inbound_mail,
    itsm,
    maintenance_plans,
    major_cases,
    metrics,
    sessions,
    tokens,
    work_orders,
)
from api.routes.catalog import (
    accounts,
    agents,
    assets,
    consumers,
    contacts,
    entitlements,
    field_service_rules,
    knowledge,
    products,
    queues,
    schedules,
    skills,
    sla,
    sla_definitions,
    technicians,
)
from casework import tracing
from casework.settings import Settings, get_settings
from casework.tracing import Tracing
from models.db import make_engine, make_read_session_factory, make_session_factory

MAX_BODY_BYTES = 1_000_000
log = logging.getLogger("casework.api")


class BodyLimit:
    """Refuse oversized bodies before anything reads them (plain ASGI: no task per request).
    `larger` gives some paths their own limit (inbound mail: CASEWORK_MAIL_MAX_BYTES)."""

    def __init__(self, app: ASGIApp, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length")
            limit = self.larger.get(scope["path"], MAX_BODY_BYTES)
            if length and (not length.isdigit() or int(length) > limit):
                response = errors.problem_response(413, f"the body exceeds {limit} bytes")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, traced: Tracing | None = None) -> FastAPI:
    """`traced`: tracing of the app's requests, statements and Temporal calls; by default as
    the settings say (on with an OTLP endpoint)."""
    settings = settings or get_settings()
    traced = traced or tracing.from_settings(settings, "casework-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # No ping per checkout: a dead connection fails its request with a 503 and the pool
        # renews itself (see models.db).
        engine = make_engine(settings.database_url, pre_ping=False)
        if traced:
            traced.instrument_engine(engine)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = make_session_factory(engine)
        app.state.read_sessions = make_read_session_factory(engine)
        app.state.principals = PrincipalCache()
        app.state.rate_limits = RateLimits(settings)
        app.state.temporal = TemporalConnector(settings, traced)
        if settings.admin_token:
            try:
                async with app.state.sessions() as db, db.begin():
                    await ensure_admin_token(db, settings.admin_token)
            except Exception as err:  # the database may come later; the token can wait
                log.warning("could not store the admin token yet: %s", err)
        # What is loaded by now (modules, schemas, the ORM) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise stall a request for
        # 50-100 ms now and then. With so little left to count as long-lived, full passes
        # would come every few dozen requests: let them wait for 100 middle ones, not 10.
        gc.freeze()
        gc.set_threshold(700, 10, 100)
        yield
        await engine.dispose()
        if traced:
            traced.shutdown()

    app = FastAPI(
        title="Casework",
        version=version("casework"),
        description="Customer service management in which every case is a durable workflow.",
        lifespan=lifespan,
        # Served by api.docs from the package instead of FastAPI's CDN-loading pages.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, larger={f"/api/v1{inbound_mail.PATH}": settings.mail_max_bytes})
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    app.include_router(health.router)
    # Requests try the routes in this order (no two routers share a path): the busiest first.
    for module in (
        major_cases,  # before cases: its broadcast path is a case action's
        cases,
        tokens,
        sla,
        accounts,
        contacts,
        consumers,
        products,
        assets,
        schedules,
        sla_definitions,
        entitlements,
        skills,
        agents,
        technicians,
        knowledge,
        queues,
        work_orders,
        field_service_rules,
        itsm,
        metrics,
        data_debt,
        sessions,
        inbound_mail,
        maintenance_plans,
        events,
    ):
        app.include_router(module.router, prefix="/api/v1")
    for module in (login, console, portal, partner, account, console_events):
        app.include_router(module.router)
    app.include_router(portal_open.router)
    # Last: its middleware wraps BodyLimit (whose refusals are timed too), its route comes
    # after the busy ones.
    observability.install(app)
    if traced:  # outermost of all: a request's span covers everything done for it
        traced.instrument_app(app)
    return app
