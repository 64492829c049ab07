"""The Temporal Schedules: one per maintenance plan, the entitlement expiry's and the daily
housekeeping's (these two created, or brought up to the settings, each time a worker starts).

All are listed in the Temporal UI (Schedules) and by `temporal schedule list`.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from casework.settings import Settings
from workflows.housekeeping import HOUSEKEEPING_SCHEDULE_ID, HousekeepingWorkflow
from workflows.housekeeping_types import PurgeInput
from workflows.scheduled import EntitlementExpiryWorkflow, MaintenanceRunWorkflow
from workflows.scheduled_types import ScheduledRunInput
from workflows.upkeep import EXPIRY_SCHEDULE_ID, plan_run_id, plan_schedule_id

log = logging.getLogger("casework.schedules")
# A trigger while a run is going runs after it, never beside it (and never is lost).
POLICY = SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE)
DAY_SECONDS = 24 * 3600


def _schedule(run: Any, arg: Any, workflow_id: str, settings: Settings, every: int) -> Schedule:
    """Start `run(arg)` as `workflow_id` on the cases' task queue every `every` seconds."""
    action = ScheduleActionStartWorkflow(run, arg, id=workflow_id, task_queue=settings.task_queue)
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every))])
    return Schedule(action=action, spec=spec, policy=POLICY)


def plan_schedule(plan_id: str, settings: Settings) -> Schedule:
    """A plan's runs look at every asset's own due date, so they run daily (by default),
    whatever the plan's interval: each asset falls due on its own day."""
    arg = ScheduledRunInput(plan_id=plan_id)
    run = MaintenanceRunWorkflow.run
    return _schedule(run, arg, plan_run_id(plan_id), settings, settings.scheduled_check_seconds)


async def create_plan_schedule(client: Client, plan_id: str, settings: Settings) -> str:
    schedule_id = plan_schedule_id(plan_id)
    await client.create_schedule(schedule_id, plan_schedule(plan_id, settings))
    return schedule_id


async def delete_schedule(client: Client, schedule_id: str) -> None:
    await client.get_schedule_handle(schedule_id).delete()


async def next_run_at(client: Client, schedule_id: str) -> datetime | None:
    described = await client.get_schedule_handle(schedule_id).describe()
    times = described.info.next_action_times
    return times[0] if times else None


async def trigger(client: Client, schedule_id: str) -> None:
    await client.get_schedule_handle(schedule_id).trigger()


def expiry_schedule(settings: Settings) -> Schedule:
    arg = ScheduledRunInput(lead_days=settings.entitlement_expiry_lead_days)
    run, every = EntitlementExpiryWorkflow.run, settings.scheduled_check_seconds
    return _schedule(run, arg, "entitlement-expiry-run", settings, every)


def housekeeping_schedule(settings: Settings) -> Schedule:
    arg = PurgeInput(after_days=settings.purge_after_days)
    return _schedule(HousekeepingWorkflow.run, arg, "housekeeping-run", settings, DAY_SECONDS)


async def ensure_schedule(client: Client, schedule_id: str, wanted: Schedule) -> None:
    """Create the schedule, or set an existing one to `wanted` (the current settings)."""
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("created schedule %s", schedule_id)
    except ScheduleAlreadyRunningError:

        def to_settings(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id).update(to_settings)


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Every schedule a worker keeps: the entitlement expiry's and the housekeeping's."""
    await ensure_schedule(client, EXPIRY_SCHEDULE_ID, expiry_schedule(settings))
    await ensure_schedule(client, HOUSEKEEPING_SCHEDULE_ID, housekeeping_schedule(settings))
