"""Request dependencies as Annotated aliases: database session, Temporal client, the caller,
and every auth dependency (role checks for the API, the login check for the pages)."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig

from api.auth import COOKIE, Principal, cached_principal, principal_for, require
from api.errors import Problem, unavailable
from api.services import sessions as web_sessions
from api.services.people import person_name
from casework import temporal, tracing
from casework.settings import Settings
from casework.tracing import Tracing
from workflows.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_fresh
from workflows.vocabulary import Role

log = logging.getLogger("casework.api")


class TemporalConnector:
    """Connects on first use, so the API starts (and answers 503) while Temporal is away.
    The client has the tracing interceptor when tracing is on, and the SDK's runtime with its
    metrics on CASEWORK_API_SDK_METRICS_ADDRESS when that is set."""

    def __init__(self, settings: Settings, traced: Tracing | None = None) -> None:
        self.settings = settings
        self.client: Client | None = None
        self.lock = asyncio.Lock()
        self.options = tracing.interceptors(traced)
        self.runtime: Runtime | None = None  # one per process: it holds the metrics port

    async def get(self) -> Client:
        if self.client is not None:
            return self.client
        async with self.lock:
            if self.client is None:
                if self.runtime is None:
                    self.runtime = temporal.sdk_runtime(self.settings.api_sdk_metrics_address)
                try:
                    self.client = await asyncio.wait_for(
                        temporal.connect(
                            self.settings,
                            # Fail fast while Temporal is away: the caller gets a 503 and
                            # retries, instead of a request hanging on client retries.
                            retry_config=RetryConfig(
                                max_retries=3,
                                max_elapsed_time_millis=5000,
                                max_interval_millis=1000,
                            ),
                            runtime=self.runtime,
                            **self.options,
                        ),
                        timeout=5,
                    )
                except Exception as err:
                    raise unavailable(f"the workflow engine is not reachable: {err}") from err
        return self.client


async def close_quietly(session: AsyncSession) -> None:
    # Runs after the answer has started: a connection lost meanwhile (the database went
    # away) must not turn an answered request into a server error.
    try:
        await session.close()
    except Exception as err:
        log.warning("closing a database session failed: %s", err)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        await close_quietly(session)


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For routes that only read: no transaction around their statements (see models.db)."""
    session = request.app.state.read_sessions()
    try:
        yield session
    finally:
        await close_quietly(session)


# The dependencies are `async def`, even those that await nothing: FastAPI runs a plain
# `def` dependency in its thread pool, a thread hop per request (about a tenth of the API's
# CPU on POST /cases, py-spy), to read an attribute.
async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessions


async def get_client(request: Request) -> Client:
    return await request.app.state.temporal.get()


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def bearer(request: Request) -> str | None:
    """The Authorization header's bearer token (an API token), if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def caller(request: Request, db: AsyncSession | None = None) -> Principal:
    """The bearer token's principal, else the cookie's session's; 401 with neither. The two
    never mix: a session's value is no API token, an API token no session."""
    state = request.app.state
    token = bearer(request)
    if token is not None or COOKIE not in request.cookies:
        if db is not None:
            return await principal_for(db, token)
        return await cached_principal(state.read_sessions, token, state.principals)
    if db is not None:
        who = await web_sessions.principal_of(db, request.cookies[COOKIE])
    else:
        async with state.read_sessions() as own:
            who = await web_sessions.principal_of(own, request.cookies[COOKIE])
    if who is None:
        raise Problem(401, "the session is unknown, ended or expired; sign in again")
    return who


async def get_principal(request: Request) -> Principal:
    return await caller(request)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
ClientDep = Annotated[Client, Depends(get_client)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def role(*roles: str):
    """A dependency: the caller, when their role is one of `roles` (or admin); else 403."""

    async def check(principal: CurrentPrincipal) -> Principal:
        require(principal, *roles)
        return principal

    return Depends(check)


Admin = Annotated[Principal, role()]
Writer = Annotated[Principal, role(Role.INTEGRATION)]
Reader = Annotated[Principal, role(Role.SUPERVISOR, Role.AGENT, Role.INTEGRATION)]
Supervisor = Annotated[Principal, role(Role.SUPERVISOR)]


class LoginRequired(Exception):
    """No (valid) token on a page: people are sent to the login form, then back."""

    def __init__(self, next_path: str | None = None) -> None:
        super().__init__("login required")
        self.next_path = next_path


async def page_principal(request: Request) -> Principal:
    """The caller of a page (bearer header or cookie), with their name for the header."""
    next_path = request.url.path if request.method == "GET" else None
    if request.method == "GET" and request.url.query:
        next_path = f"{next_path}?{request.url.query}"
    if bearer(request) is None and COOKIE not in request.cookies:
        raise LoginRequired(next_path)
    async with request.app.state.sessions() as db:
        try:
            who = await caller(request, db)
        except Problem as exc:
            raise LoginRequired(next_path) from exc
        request.state.who = who
        request.state.who_name = await person_name(db, who)
    return who


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def check_signature(request: Request, raw: bytes, settings: Settings) -> None:
    """401 unless an integration's body is signed (X-Casework-Signature, and the timestamp
    when sent) with CASEWORK_WEBHOOK_SECRET; nothing to check when no secret is set."""
    if not settings.webhook_secret:
        return
    refused = verify_fresh(
        settings.webhook_secret,
        raw,
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
        time.time(),
    )
    if refused:
        raise Problem(401, refused)
