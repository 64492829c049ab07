"""Prometheus metrics of the API process on GET /metrics: request durations, and the outbox
and cases as the database has them at scrape time."""

import asyncio
import logging
import time
from time import perf_counter

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflows.vocabulary import LIVE

log = logging.getLogger("casework.api.metrics")
# The API answers most requests in milliseconds: finer buckets at the low end than the default.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Scrapes within this many seconds of the last count reuse it: several Prometheus servers (or
# a person reloading) cost the database one count per interval.
COUNT_EVERY_SECONDS = 1.0
# The counts read index entries of open cases and pending mail only; this bounds them anyway.
STATEMENT_TIMEOUT_MS = 2000

OUTBOX_SQL = text(
    # The partial index ix_notifications_pending holds exactly these rows and created_at.
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
    "FROM notifications WHERE status = 'pending'"
)
CASES_SQL = text(
    # ix_cases_state_created finds the live cases; only they are read.
    "SELECT state, count(*), count(*) FILTER (WHERE breached) FROM cases "
    "WHERE state IN :states GROUP BY state"
).bindparams(bindparam("states", [str(s) for s in LIVE], expanding=True))


class RequestTimer:
    """Observes each request's duration by method, route template (`/api/v1/cases/{case_id}`:
    never the raw path, whose ids would make a series per case) and status."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.histogram = Histogram(
            "casework_http_request_duration_seconds",
            "HTTP requests by method, route template and status, from arrival to the answer's end",
            ("method", "route", "status"),
            buckets=BUCKETS,
            registry=registry,
        )
        self.series: dict[tuple[str, str, int], object] = {}  # skips labels()' own lookup
        self.templates: dict[int, str] = {}  # by id(): routes compare by value, hash not

    def template(self, scope: Scope) -> str:
        """The matched route's full path template. The router puts the route in the scope
        (`scope["route"]`), but a route of an included router knows its path without the
        router's prefix (`/cases/{case_id}`): the prefix is what the route's own pattern
        leaves of the request's path, found once per route."""
        route = scope.get("route")
        if route is None:
            return "unmatched"
        template = self.templates.get(id(route))  # routes live as long as the app
        if template is None:
            template = self.templates[id(route)] = full_template(route, scope)
        return template

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = self.histogram.labels(method, route, str(status))
        series.observe(seconds)


def full_template(route: object, scope: Scope) -> str:
    path, pattern = getattr(route, "path", None), getattr(route, "path_regex", None)
    if path is None or pattern is None:
        return "unmatched"
    requested = scope["path"].removeprefix(scope.get("root_path", ""))
    for at, char in enumerate(requested):
        if char == "/" and pattern.match(requested[at:]):
            return requested[:at] + path
    return path


class RequestMetrics:
    """Plain ASGI middleware (no task per request) around the whole app."""

    def __init__(self, app: ASGIApp, timer: RequestTimer) -> None:
        self.app, self.timer = app, timer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # what the client gets when the app fails before it answers

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            timer = self.timer
            timer.observe(method, timer.template(scope), status, perf_counter() - started)


class DatabaseGauges:
    """Outbox backlog, open cases by state and breached ones, counted at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.pending = Gauge(
            "casework_outbox_pending", "Notifications waiting to be sent", registry=registry
        )
        self.oldest = Gauge(
            "casework_outbox_oldest_pending_seconds",
            "Age of the oldest notification waiting to be sent (0: none)",
            registry=registry,
        )
        self.cases = Gauge(
            "casework_cases_open",
            "Open cases (resolved ones too) by state",
            ("state",),
            registry=registry,
        )
        self.breached = Gauge(
            "casework_cases_breached",
            "Open cases (resolved ones too) with a breached SLA, by state",
            ("state",),
            registry=registry,
        )
        self.up = Gauge(
            "casework_metrics_database_up",
            "1 when the last count from the database succeeded (else the counts are older)",
            registry=registry,
        )
        self.counted_at = float("-inf")
        self.lock = asyncio.Lock()

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async with self.lock:  # concurrent scrapes: one count
            if time.monotonic() - self.counted_at < COUNT_EVERY_SECONDS:
                return
            try:
                async with sessions() as db, db.begin():
                    await db.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
                    pending, oldest = (await db.execute(OUTBOX_SQL)).one()
                    by_state = {row[0]: row for row in await db.execute(CASES_SQL)}
            except Exception as err:  # the scrape still answers, with the process's series
                log.warning("could not count the outbox and cases: %s", err)
                self.up.set(0)
                return
            self.pending.set(pending)
            self.oldest.set(float(oldest))
            for state in LIVE:  # every state, so a series drops to 0 rather than vanishing
                _, count, breached = by_state.get(state, (state, 0, 0))
                self.cases.labels(state).set(count)
                self.breached.labels(state).set(breached)
            self.up.set(1)
            self.counted_at = time.monotonic()


def install(app: FastAPI) -> None:
    """The request timer (outermost middleware) and GET /metrics, on a registry of this app's
    own (several apps in one process, as in tests, never share series)."""
    registry = CollectorRegistry()
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)
    app.add_middleware(RequestMetrics, timer=RequestTimer(registry))
    gauges = DatabaseGauges(registry)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        await gauges.refresh(request.app.state.sessions)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
