"""The case's workflow as Temporal knows it now (GET /cases/{id}/workflow)."""

from pydantic import AwareDatetime, BaseModel, Field

from workflows.deadlines import DeadlineKind


class NextDeadlineRead(BaseModel):
    """The case's next timer: when it fires and what it is for."""

    at: AwareDatetime = Field(description="When the workflow's next timer for the case fires")
    what: DeadlineKind | None = Field(
        description="`sla_warning` (an SLA clock's warning threshold), `sla_breach` (its due "
        "time) or `reopen_window` (a resolved case closes); null when only the NextDeadline "
        "search attribute could be read (no worker answered the query)"
    )


class PendingActivityRead(BaseModel):
    """An activity of the case's workflow that has not finished."""

    activity_id: str
    activity_type: str = Field(description="The activity's registered name")
    state: str = Field(description="Temporal's pending state: SCHEDULED, STARTED, CANCEL_REQUESTED")
    attempt: int = Field(description="The attempt under way (1 is the first)")
    scheduled_at: AwareDatetime | None
    last_failure: str | None = Field(description="Why the last attempt failed, if one did")


class ChildWorkflowRead(BaseModel):
    """A child workflow of the case (a work order)."""

    workflow_id: str
    run_id: str
    workflow_type: str = Field(description="WorkOrderWorkflow for a work order")
    work_order_number: str | None = Field(description="The work order's number, for one")


class CaseWorkflowRead(BaseModel):
    """What Temporal knows now about the case's workflow."""

    workflow_id: str
    run_id: str | None = Field(description="The latest run; null when the workflow is GONE")
    status: str = Field(
        description="Temporal's status of the latest run: RUNNING, COMPLETED, FAILED, CANCELED, "
        "TERMINATED, CONTINUED_AS_NEW, TIMED_OUT; GONE when Temporal no longer has the "
        "workflow (closed longer ago than the namespace's retention): the case itself still "
        "holds its outcome"
    )
    history_length: int | None = Field(description="Events in the latest run's history")
    continued_as_new: int | None = Field(
        description="How many times the case continued as new to reach the latest run "
        "(counted along the run chain)"
    )
    next_deadline: NextDeadlineRead | None = Field(
        description="The next thing the workflow waits for by time; null when it is not running"
    )
    pending_activities: list[PendingActivityRead]
    children: list[ChildWorkflowRead] = Field(
        description="The latest run's running child workflows (the case's work orders)"
    )
    ui_url: str = Field(description="This run's history in the Temporal Web UI")
