"""Dataclasses of the scheduled runs (maintenance plans, entitlement expiry) and their steps."""

from dataclasses import dataclass, field


@dataclass
class ScheduledRunInput:
    """A run of a schedule: a maintenance plan's (`plan_id`) or the entitlement expiry's.

    `after`, `items_due` and `today` carry a run across continue-as-new."""

    plan_id: str | None = None
    lead_days: int = 30  # entitlement expiry: how far ahead an end date counts
    batch_size: int = 200
    after: str | None = None
    items_due: int = 0
    today: str | None = None  # the run's day (ISO date), fixed when it first starts


@dataclass
class DueQuery:
    """One page of what falls due: assets of a plan, or entitlements ending."""

    today: str
    plan_id: str | None = None
    lead_days: int = 0
    after: str | None = None  # the last id of the previous page
    limit: int = 200


@dataclass
class DueItem:
    id: str  # the asset's or the entitlement's
    due_on: str  # ISO date: the maintenance's due date, or the entitlement's end


@dataclass
class DuePage:
    items: list[DueItem] = field(default_factory=list)
    next_after: str | None = None  # None: this was the last page


@dataclass
class OpenDue:
    """Open one case per item (each once per its key) for this run."""

    run_key: str
    items: list[DueItem]
    plan_id: str | None = None


@dataclass
class OpenedDue:
    started: int  # case workflows this call started (a retry may find them started)


@dataclass
class RunRecord:
    run_key: str
    schedule_id: str
    at: str
    items_due: int
    plan_id: str | None = None


@dataclass
class RunSummary:
    items_due: int
    cases_opened: int  # cases whose unique row this run wrote, whatever its retries did
