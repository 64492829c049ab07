"""Every activity a workflow calls, by name, with its timeout and bounded retry policy.

Workflows import this module, never the activity implementations (which do I/O).
"""

from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.customer_merge import MergeInput, MergeResult
from workflows.fan_out_types import BatchDone, FanOutBatch, FanOutTarget, MajorStepResult
from workflows.housekeeping_types import PurgeInput, PurgeResult
from workflows.scheduled_types import DuePage, DueQuery, OpenDue, OpenedDue, RunRecord, RunSummary
from workflows.types import (
    AffectedCases,
    CreateWorkOrderInput,
    DeliverIncidentInput,
    DispatchInput,
    DispatchResult,
    IncidentDelivered,
    IncidentOpened,
    IncidentUpdate,
    IncidentUpdateResult,
    IntakeInput,
    OpenedCase,
    OpenIncidentInput,
    PolicyChangeInput,
    RecordInput,
    RecordResult,
    RecordWorkOrderInput,
    RecordWorkOrderResult,
    SlaLookup,
    SlaLookupResult,
    WorkOrderCreated,
    WorkOrderDispatchInput,
    WorkOrderDispatchResult,
)

# Database steps run as local activities: one workflow task instead of three at intake.
DB_TIMEOUT = timedelta(seconds=30)
DB_SCHEDULE_TO_CLOSE = timedelta(minutes=30)  # survives a database outage of many minutes
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=200,
)
# The ITSM webhook is someone else's server: patient backoff, bounded, never past a refusal.
ITSM_TIMEOUT = timedelta(seconds=30)
ITSM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=20,
    non_retryable_error_types=["ItsmRejected", "ItsmNotConfigured"],
)


# How a step fails for good, once its bounded retries are spent or at once when the error is
# deterministic: a local activity raises the activity's own ApplicationError, an activity
# task an ActivityError around it.
STEP_FAILURES = (ActivityError, ApplicationError)

Result = TypeVar("Result")  # what a step answers: its activity's result type


def failure_text(err: BaseException) -> str:
    if isinstance(err, ActivityError) and isinstance(err.cause, ApplicationError):
        return err.cause.message
    return err.message if isinstance(err, ApplicationError) else str(err)


async def _db(name: str, arg: object, result_type: type[Result]) -> Result:
    """A database step: a local activity (no extra workflow task), patient through outages."""
    return await workflow.execute_local_activity(  # type: ignore[no-any-return]
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=DB_TIMEOUT,
        schedule_to_close_timeout=DB_SCHEDULE_TO_CLOSE,
        retry_policy=DB_RETRY,
    )


async def _remote(
    name: str, arg: object, result_type: type[Result], timeout: timedelta, retry: RetryPolicy
) -> Result:
    """An activity task of its own (mail, webhooks, long scans), on its own timeout and retries."""
    return await workflow.execute_activity(  # type: ignore[no-any-return]
        name, arg, result_type=result_type, start_to_close_timeout=timeout, retry_policy=retry
    )


async def open_case(arg: IntakeInput) -> OpenedCase:
    return await _db("open_case", arg, OpenedCase)


async def record_case_event(arg: RecordInput) -> RecordResult:
    return await _db("record_case_event", arg, RecordResult)


async def dispatch_cases(arg: DispatchInput) -> DispatchResult:
    return await _db("dispatch_cases", arg, DispatchResult)


async def default_slas(arg: SlaLookup) -> SlaLookupResult:
    return await _db("default_slas", arg, SlaLookupResult)


async def find_cases_using(arg: PolicyChangeInput) -> AffectedCases:
    return await _remote("find_cases_using", arg, AffectedCases, DB_TIMEOUT, DB_RETRY)


async def create_work_order(arg: CreateWorkOrderInput) -> WorkOrderCreated:
    return await _db("create_work_order", arg, WorkOrderCreated)


async def dispatch_work_orders(arg: WorkOrderDispatchInput) -> WorkOrderDispatchResult:
    return await _db("dispatch_work_orders", arg, WorkOrderDispatchResult)


async def record_work_order(arg: RecordWorkOrderInput) -> RecordWorkOrderResult:
    return await _db("record_work_order", arg, RecordWorkOrderResult)


async def open_incident(arg: OpenIncidentInput) -> IncidentOpened:
    return await _db("open_incident", arg, IncidentOpened)


async def update_incident(arg: IncidentUpdate) -> IncidentUpdateResult:
    return await _db("update_incident", arg, IncidentUpdateResult)


async def deliver_incident(arg: DeliverIncidentInput) -> IncidentDelivered:
    return await _remote("deliver_incident", arg, IncidentDelivered, ITSM_TIMEOUT, ITSM_RETRY)


async def merge_customer(arg: MergeInput) -> MergeResult:
    return await _remote("merge_customer", arg, MergeResult, DB_TIMEOUT, DB_RETRY)


# ----- scheduled runs (maintenance plans, entitlement expiry): one activity per page -------
# Opening a page of cases starts (and waits for the intake of) up to a page of workflows.
OPEN_PAGE_TIMEOUT = timedelta(minutes=5)


async def find_due(name: str, arg: DueQuery) -> DuePage:
    return await _remote(name, arg, DuePage, DB_TIMEOUT, DB_RETRY)


async def open_due(name: str, arg: OpenDue) -> OpenedDue:
    return await _remote(name, arg, OpenedDue, OPEN_PAGE_TIMEOUT, DB_RETRY)


async def record_scheduled_run(arg: RunRecord) -> RunSummary:
    return await _remote("record_scheduled_run", arg, RunSummary, DB_TIMEOUT, DB_RETRY)


# ----- a major case's fan-out (workflows/fan_out.py) --------------------------------------

# A batch starts or updates up to FAN_OUT_BATCH workflows; it heartbeats as it goes, so a
# worker killed mid-batch is noticed within the heartbeat timeout and the batch runs again
# (every start and update in it has a deterministic id: the rerun duplicates nothing).
FAN_OUT_TIMEOUT = timedelta(minutes=10)
FAN_OUT_HEARTBEAT = timedelta(seconds=10)
FAN_OUT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=50,
)


async def _fan_out(name: str, arg: object, result_type: type[Result]) -> Result:
    """A fan-out step: an activity task of its own that heartbeats as it goes."""
    return await workflow.execute_activity(  # type: ignore[no-any-return]
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=FAN_OUT_TIMEOUT,
        heartbeat_timeout=FAN_OUT_HEARTBEAT,
        retry_policy=FAN_OUT_RETRY,
    )


async def major_case_step(arg: FanOutTarget) -> MajorStepResult:
    return await _fan_out("major_case_step", arg, MajorStepResult)


async def fan_out_batch(arg: FanOutBatch) -> BatchDone:
    return await _fan_out("fan_out_batch", arg, BatchDone)


# ----- housekeeping (workflows/housekeeping.py) -----------------------------------------


async def purge_ended_sign_ins(arg: PurgeInput) -> PurgeResult:
    return await _remote("purge_ended_sign_ins", arg, PurgeResult, DB_TIMEOUT, DB_RETRY)
