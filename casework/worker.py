"""The Temporal worker (CaseWorkflow, its work orders, dispatchers, every activity) and,
beside it in the same process, the outbox relay that sends the cases' mail; its logs and the
Temporal SDK's metrics."""

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities import Deps, all_activities
from activities.mailer import Mailer, Renderer
from activities.relay import OutboxRelay
from casework import loop, schedules, temporal, tracing
from casework.logging import configure as configure_logging
from casework.settings import Settings, get_settings
from models.db import libpq_url, make_engine, make_session_factory
from workflows.case import CaseWorkflow
from workflows.fan_out import MajorCaseFanOutWorkflow
from workflows.housekeeping import HousekeepingWorkflow
from workflows.merge import CustomerMergeWorkflow
from workflows.policy import PolicyChangeWorkflow
from workflows.routing import DispatchWorkflow
from workflows.sandbox import workflow_runner
from workflows.scheduled import EntitlementExpiryWorkflow, MaintenanceRunWorkflow
from workflows.work_order import WorkOrderDispatchWorkflow, WorkOrderWorkflow

WORKFLOWS = [
    CaseWorkflow,
    DispatchWorkflow,
    PolicyChangeWorkflow,
    WorkOrderWorkflow,
    WorkOrderDispatchWorkflow,
    CustomerMergeWorkflow,
    MaintenanceRunWorkflow,
    EntitlementExpiryWorkflow,
    MajorCaseFanOutWorkflow,
    HousekeepingWorkflow,
]
log = logging.getLogger("casework.worker")
# On shutdown, running steps get this long to finish before they are cancelled; a step that
# ignores the cancel (or a case's task held by a step retrying in the worker) is left to
# Temporal after STOP_GRACE more: it runs again, on this worker's next start or another one.
GRACEFUL_SHUTDOWN = timedelta(seconds=2)
STOP_GRACE = timedelta(seconds=1)


def worker_engine(settings: Settings):
    """No pre-ping: it cost every step a `SELECT 1` round trip (and PostgreSQL a statement per
    action). A step whose pooled connection the server dropped fails with a retryable error,
    the pool replaces the connections older than that failure, and the step's retry runs."""
    return make_engine(settings.database_url, pre_ping=False)


def build_deps(settings: Settings, engine=None) -> Deps:
    engine = engine or worker_engine(settings)
    return Deps(
        sessions=make_session_factory(engine),
        mailer=Mailer(settings.smtp_url, settings.mail_from),
        renderer=Renderer(),
        portal_url=settings.public_url.rstrip("/") + "/portal",
        default_queue=settings.default_queue,
        default_reopen_window_seconds=settings.default_reopen_window_seconds,
        public_url=settings.public_url,
        itsm_adapter=settings.itsm_adapter,
        itsm_webhook_url=settings.itsm_webhook_url,
        webhook_secret=settings.webhook_secret,
        escalation_email=settings.escalation_email,
    )


def build_worker(client: Client, settings: Settings, deps: Deps) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=all_activities(deps),
        max_cached_workflows=settings.worker_cache,
        max_concurrent_activities=settings.worker_max_activities,
        workflow_runner=workflow_runner(),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def run_until(worker: Worker, stop: asyncio.Event) -> None:
    """Run the worker until `stop` is set (the worker failing sets it too), then shut it down
    without waiting longer than its graceful time and STOP_GRACE: after that its run is
    cancelled, whatever it still holds. Re-raises the worker's failure."""
    running = asyncio.create_task(worker.run())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    shutdown = asyncio.create_task(worker.shutdown())
    await asyncio.wait({running}, timeout=(GRACEFUL_SHUTDOWN + STOP_GRACE).total_seconds())
    if not running.done():
        log.warning("worker still busy %s after shutdown; stopping without it", STOP_GRACE)
        running.cancel()
        shutdown.cancel()
        await asyncio.wait({running})
    if not running.cancelled() and running.exception():
        raise running.exception()


def build_relay(settings: Settings, deps: Deps) -> OutboxRelay:
    return OutboxRelay(
        deps,
        listen_conninfo=libpq_url(settings.database_url),
        senders=settings.outbox_senders,
    )


@contextlib.asynccontextmanager
async def relaying(relay: OutboxRelay) -> AsyncIterator[None]:
    """The outbox relay runs while the block does."""
    task = asyncio.create_task(relay.run(), name="outbox-relay")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        relay.deps.mailer.close()


def worker_runtime(settings: Settings) -> Runtime:
    """The SDK's runtime for the worker and its client: metrics on
    CASEWORK_WORKER_METRICS_ADDRESS (workflow and activity task latencies, slots, polls, RPCs,
    sticky cache) when it is set."""
    return temporal.sdk_runtime(settings.worker_metrics_address)


async def run_worker(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    traced = tracing.from_settings(settings, "casework-worker")
    client = await temporal.connect(
        settings, runtime=worker_runtime(settings), **tracing.interceptors(traced)
    )
    engine = worker_engine(settings)
    if traced:
        traced.instrument_engine(engine)
        log.info("tracing to %s", settings.otlp_endpoint)
    deps = build_deps(settings, engine)
    worker = build_worker(client, settings, deps)
    try:
        await schedules.ensure_schedules(client, settings)
    except RPCError as err:
        # Only Temporal's time-skipping test server has no schedules: the worker still runs
        # its cases there, without entitlement expiry. Any other failure stops the worker.
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        log.warning(
            "no schedules on this Temporal server (%s): no entitlement expiry, no housekeeping", err
        )
    where = client.service_client.config.target_host
    log.info("worker polling task queue %r on %s", settings.task_queue, where)
    if settings.worker_metrics_address:
        log.info("Temporal SDK metrics on http://%s/metrics", settings.worker_metrics_address)
    # What is loaded by now (modules, the sandbox's templates) lives as long as the process:
    # keep it out of the collector's full passes, and let those wait for 100 middle ones.
    gc.freeze()
    gc.set_threshold(700, 10, 100)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a supervisor's stop, or Ctrl-C
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        async with relaying(build_relay(settings, deps)):
            await run_until(worker, stop)
    finally:
        if traced:
            traced.shutdown()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    loop.run(run_worker(settings))
