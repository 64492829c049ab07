"""What Temporal knows now about a case's workflow: status, run chain, next deadline, pending
work, and its address in the Temporal Web UI (GET /cases/{id}/workflow, the case page).

The raw DescribeWorkflowExecution is read, not `handle.describe()`: the SDK cannot decode the
Datetime search attribute NextDeadline the time-skipping test server returns, and the raw
answer carries everything shown here (history length, pending activities and children)."""

import json
from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState, WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Principal
from api.services.cases import loaded
from models.cases import Case
from workflows import deadlines
from workflows.case import CaseWorkflow
from workflows.search import NEXT_DEADLINE
from workflows.vocabulary import Role

# Who may look into a case's workflow (admin may do everything).
READERS = (Role.SUPERVISOR,)
# A query needs a worker to answer; without one the next deadline comes from the search
# attribute instead, so the answer never waits long on a worker that is away.
QUERY_TIMEOUT = timedelta(seconds=5)
# How far back the run chain is walked to count continue-as-new (one history read per run).
CHAIN_LIMIT = 100
# Answered for a workflow Temporal no longer has (closed and past the namespace's retention,
# or never started): the case row still holds its outcome.
GONE = "GONE"
STATUS_PREFIX = "WORKFLOW_EXECUTION_STATUS_"
ACTIVITY_PREFIX = "PENDING_ACTIVITY_STATE_"


def ui_url(ui: str, namespace: str, workflow_id: str, run_id: str | None) -> str:
    """The case's workflow (that run's history when known) in the Temporal Web UI at `ui`."""
    url = f"{ui.rstrip('/')}/namespaces/{namespace}/workflows/{workflow_id}"
    return f"{url}/{run_id}/history" if run_id else url


async def inspect(*, client: Client, case: Case, ui: str) -> dict:
    """The CaseWorkflowRead of the case's workflow (its latest run)."""
    namespace = client.namespace
    try:
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=namespace, execution=WorkflowExecution(workflow_id=case.workflow_id)
            )
        )
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise  # Temporal away or failing: api.errors answers 503
        return gone(ui, namespace, case)
    info = described.workflow_execution_info
    work_orders = {w.workflow_id: w.number for w in loaded(case, "work_order_rows")}
    run_id = info.execution.run_id
    running = info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    return {
        "workflow_id": case.workflow_id,
        "run_id": run_id,
        "status": WorkflowExecutionStatus.Name(info.status).removeprefix(STATUS_PREFIX),
        "history_length": info.history_length,
        # first_run_id is the run itself for a workflow that never continued (no walk needed).
        "continued_as_new": 0
        if info.first_run_id == run_id
        else await runs_before(client, case.workflow_id, run_id),
        "next_deadline": await next_deadline(client, case, info) if running else None,
        "pending_activities": [activity(a) for a in described.pending_activities],
        "children": [child(c, work_orders) for c in described.pending_children],
        "ui_url": ui_url(ui, namespace, case.workflow_id, run_id),
    }


def child(pending, work_orders: dict[str, str]) -> dict:
    return {
        "workflow_id": pending.workflow_id,
        "run_id": pending.run_id,
        "workflow_type": pending.workflow_type_name,
        "work_order_number": work_orders.get(pending.workflow_id),
    }


def may_inspect(who: Principal) -> bool:
    return who.role in (Role.ADMIN, *READERS)


def gone(ui: str, namespace: str, case: Case) -> dict:
    return {
        "workflow_id": case.workflow_id,
        "run_id": None,
        "status": GONE,
        "history_length": None,
        "continued_as_new": None,
        "next_deadline": None,
        "pending_activities": [],
        "children": [],
        "ui_url": ui_url(ui, namespace, case.workflow_id, None),
    }


def activity(pending) -> dict:
    return {
        "activity_id": pending.activity_id,
        "activity_type": pending.activity_type.name,
        "state": PendingActivityState.Name(pending.state).removeprefix(ACTIVITY_PREFIX),
        "attempt": pending.attempt,
        "scheduled_at": stamp(pending.scheduled_time),
        "last_failure": pending.last_failure.message or None,
    }


def stamp(timestamp) -> datetime | None:
    return timestamp.ToDatetime(tzinfo=UTC) if timestamp.seconds or timestamp.nanos else None


async def runs_before(client: Client, workflow_id: str, run_id: str) -> int:
    """How many times the workflow continued as new to reach this run: each run's first event
    names the run it continued from, so the chain is walked back to the first run.

    DescribeWorkflowExecution's first_run_id alone says only whether it ever continued."""
    count = 0
    while count < CHAIN_LIMIT:
        history = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                maximum_page_size=1,
            )
        )
        if not history.history.events:
            break
        started = history.history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
        if not run_id:
            break
        count += 1
    return count


async def next_deadline(client: Client, case: Case, info) -> dict | None:
    """The workflow's own state asked by query and read by workflows.deadlines (the same
    function that sets NextDeadline); without a worker to answer, the NextDeadline search
    attribute, whose kind Temporal does not keep (`what` is null then)."""
    handle = client.get_workflow_handle(case.workflow_id)
    try:
        data = await handle.query(CaseWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
    except WorkflowQueryFailedError:  # the worker could not answer (say, mid-deploy)
        return searched_deadline(info)
    except RPCError as err:
        if err.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE):
            raise
        return searched_deadline(info)
    found = deadlines.next_deadline(data, datetime.now(UTC))
    return {"at": found.at, "what": str(found.kind)} if found else None


def searched_deadline(info) -> dict | None:
    payload = info.search_attributes.indexed_fields.get(NEXT_DEADLINE.name)
    if payload is None or not payload.data:
        return None
    value = json.loads(payload.data)
    if isinstance(value, list):  # older servers keep a keyword list form
        value = value[0] if value else None
    if not value:
        return None
    return {"at": datetime.fromisoformat(value.replace("Z", "+00:00")), "what": None}
