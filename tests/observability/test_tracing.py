"""OpenTelemetry tracing: one trace from POST /cases (FastAPI's server span, SQLAlchemy's
statements, the client's update-with-start) through the case's workflow (RunWorkflow, the
`opened` update) to its intake activities, on an in-memory exporter; and none of it without
an OTLP endpoint."""

import asyncio
import uuid

import httpx
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client

from api.app import create_app
from casework import tracing
from casework.settings import Settings
from tests.api.test_cases import V1, settle
from tests.conftest import ADMIN_TOKEN, make_deps, running_worker

CASE = {"subject": "Router down", "channel": "email", "email": "ada@example.net"}


async def spans_until(exporter: InMemorySpanExporter, check, timeout: float = 15):
    for _ in range(int(timeout / 0.1)):
        spans = exporter.get_finished_spans()
        if check(spans):
            return spans
        await asyncio.sleep(0.1)
    raise AssertionError(f"spans never matched: {[s.name for s in exporter.get_finished_spans()]}")


def settings_for(database_url: str, **more: str) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        CASEWORK_ADMIN_TOKEN=ADMIN_TOKEN,
        CASEWORK_TASK_QUEUE=f"tq-{uuid.uuid4().hex[:8]}",
        **more,
    )


async def test_post_cases_is_one_trace_through_the_workflow_to_its_activities(
    sessions, database_url, ts_env
):
    exporter = InMemorySpanExporter()
    traced = tracing.tracing("casework-test", SimpleSpanProcessor(exporter))
    settings = settings_for(database_url)
    app = create_app(settings, traced)
    # The API's client and the worker's: the same interceptor the processes put on theirs.
    client = Client(**{**ts_env.client.config(), "interceptors": traced.interceptors()})
    async with app.router.lifespan_context(app):
        app.state.temporal.client = client
        async with (
            running_worker(client, make_deps(sessions), settings.task_queue),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://casework.test",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ) as api,
        ):
            r = await api.post(f"{V1}/cases", json=CASE)
            assert r.status_code == 201, r.text
            await settle(api, r.json()["id"])
            spans = await spans_until(
                exporter, lambda s: any(x.name.startswith("RunActivity:") for x in s)
            )

    posts = [s for s in spans if s.kind == SpanKind.SERVER and s.name == f"POST {V1}/cases"]
    assert len(posts) == 1, [s.name for s in spans]
    trace_id = posts[0].context.trace_id
    ours = [s for s in spans if s.context.trace_id == trace_id]
    names = {s.name for s in ours}
    # The request, its statements, the client's call, the workflow, its update, its activities.
    assert "StartUpdateWithStartWorkflow:CaseWorkflow" in names, names
    assert "RunWorkflow:CaseWorkflow" in names, names
    assert "HandleUpdate:opened" in names, names
    assert any(n.startswith("StartActivity:") for n in names), names
    assert any(n.startswith("RunActivity:") for n in names), names
    assert any(s.attributes.get("db.system") == "postgresql" for s in ours), names
    # Every span of the workflow and its activities belongs to the request's trace.
    temporal = [s for s in spans if s.name.split(":")[0] in {"RunWorkflow", "RunActivity"}]
    assert temporal and all(s.context.trace_id == trace_id for s in temporal)
    # Each span's parent is a span of this trace: one tree rooted at the request.
    ids = {s.context.span_id for s in ours}
    assert all(s.parent is None or s.parent.span_id in ids for s in ours)
    assert [s for s in ours if s.parent is None] == posts


async def test_no_endpoint_no_tracing(database_url):
    assert tracing.from_settings(settings_for(database_url), "casework-api") is None
    on = tracing.from_settings(
        settings_for(database_url, CASEWORK_OTLP_ENDPOINT="http://127.0.0.1:4318"), "casework-api"
    )
    assert on is not None and len(on.interceptors()) == 1
    on.shutdown()
