"""OpenTelemetry tracing of a Casework process, off unless an OTLP endpoint is configured: the
Temporal SDK's TracingInterceptor (client and worker), FastAPI's requests and SQLAlchemy's
statements, all on one tracer provider, so a request's trace goes on through its workflow
into the workflow's activities (the interceptor carries the context in Temporal headers)."""

import os
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import __version__ as sqlalchemy_instrumentation
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.contrib.opentelemetry import TracingInterceptor

from casework.settings import Settings

# Scrapes, probes and the API docs say nothing about a case: no trace of them. (Patterns
# searched in the URL: /docs covers its assets under /docs/assets.)
UNTRACED_URLS = "/metrics,/healthz,/docs,/redoc,/openapi.json"


@dataclass(frozen=True)
class Tracing:
    """One process's tracer provider and what hangs the instrumentation on it."""

    provider: TracerProvider

    def interceptors(self) -> list[TracingInterceptor]:
        """For Client.connect: the client's calls (start, update) send their span's context in
        the workflow's headers; a worker on that client continues it in RunWorkflow,
        HandleUpdate, StartActivity and RunActivity spans."""
        return [TracingInterceptor(self.provider.get_tracer("temporalio"))]

    def instrument_app(self, app: FastAPI) -> None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, excluded_urls=UNTRACED_URLS
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A span per statement on this engine only. (SQLAlchemyInstrumentor().instrument()
        would also patch create_engine for the whole process, once per process: several
        apps or engines in one process, as in tests, each need their own.)"""
        tracer = self.provider.get_tracer(
            "opentelemetry.instrumentation.sqlalchemy", sqlalchemy_instrumentation
        )
        # The pool's usage is a metric, not a trace: Prometheus has the process's own.
        usage = NoOpMeter("casework").create_up_down_counter("db.client.connections.usage")
        EngineTracer(tracer, engine.sync_engine, usage)

    def shutdown(self) -> None:
        """Send what is still batched (a stopping process's last spans), then stop."""
        self.provider.shutdown()


def tracing(service: str, processor: SpanProcessor) -> Tracing:
    """Tracing whose spans go to `processor` (tests: a simple one on an in-memory exporter)."""
    # Resource.create lets given attributes win over OTEL_SERVICE_NAME: ours is the default.
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(processor)
    return Tracing(provider)


def from_settings(settings: Settings, service: str) -> Tracing | None:
    """Tracing to the configured OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
    CASEWORK_OTLP_ENDPOINT: the collector's base URL, spans go to its /v1/traces); None, and
    nothing instrumented, when there is none."""
    if not settings.otlp_endpoint:
        return None
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    return tracing(service, BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))


def interceptors(tracing: Tracing | None) -> dict[str, Any]:
    """Client.connect's `interceptors` argument: none when tracing is off."""
    return {"interceptors": tracing.interceptors()} if tracing else {}
