"""The FastAPI application: lifespan opens the database engine and the Temporal connector."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware

from api import errors, openapi
from api.auth import ensure_admin_token
from api.deps import TemporalConnector
from api.routes import cases, catalog, health, itsm, metrics, pages, sla, tokens, work_orders
from casework.settings import Settings, get_settings
from models.db import make_engine, make_session_factory

MAX_BODY_BYTES = 1_000_000
log = logging.getLogger("casework.api")


class BodyLimit(BaseHTTPMiddleware):
    """Refuse oversized bodies before anything reads them."""

    async def dispatch(self, request: Request, call_next):
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return errors.problem_response(413, f"the body exceeds {MAX_BODY_BYTES} bytes")
        return await call_next(request)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = make_session_factory(engine)
        app.state.temporal = TemporalConnector(settings)
        if settings.admin_token:
            try:
                async with app.state.sessions() as db, db.begin():
                    await ensure_admin_token(db, settings.admin_token)
            except Exception as err:  # the database may come later; the token can wait
                log.warning("could not store the admin token yet: %s", err)
        yield
        await engine.dispose()

    app = FastAPI(
        title="Casework",
        version="0.1.0",
        description="Customer service management in which every case is a durable workflow.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit)
    errors.install(app)
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(pages.router)
    for module in (tokens, sla, catalog, cases, work_orders, itsm, metrics):
        app.include_router(module.router, prefix="/api/v1")
    return app
