"""The Temporal Schedules that open cases on their own: one per maintenance plan, and the
entitlement expiry's (created, or brought up to the settings, each time a worker starts).

Both are listed in the Temporal UI (Schedules) and by `temporal schedule list`.
"""

import logging
from datetime import datetime, timedelta

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
from workflows.scheduled import EntitlementExpiryWorkflow, MaintenanceRunWorkflow
from workflows.scheduled_types import ScheduledRunInput
from workflows.upkeep import EXPIRY_SCHEDULE_ID, plan_run_id, plan_schedule_id

log = logging.getLogger("casework.schedules")
# A trigger while a run is going runs after it, never beside it (and never is lost).
POLICY = SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE)


def _schedule(action: ScheduleActionStartWorkflow, every_seconds: int) -> Schedule:
    every = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every_seconds))])
    return Schedule(action=action, spec=every, policy=POLICY)


def plan_schedule(plan_id: str, settings: Settings) -> Schedule:
    """A plan's runs look at every asset's own due date, so they run daily (by default),
    whatever the plan's interval: each asset falls due on its own day."""
    action = ScheduleActionStartWorkflow(
        MaintenanceRunWorkflow.run,
        ScheduledRunInput(plan_id=plan_id),
        id=plan_run_id(plan_id),
        task_queue=settings.task_queue,
    )
    return _schedule(action, settings.scheduled_check_seconds)


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
    action = ScheduleActionStartWorkflow(
        EntitlementExpiryWorkflow.run,
        ScheduledRunInput(lead_days=settings.entitlement_expiry_lead_days),
        id="entitlement-expiry-run",
        task_queue=settings.task_queue,
    )
    return _schedule(action, settings.scheduled_check_seconds)


async def ensure_expiry_schedule(client: Client, settings: Settings) -> None:
    """Create the expiry schedule, or set an existing one to the current settings."""
    wanted = expiry_schedule(settings)
    try:
        await client.create_schedule(EXPIRY_SCHEDULE_ID, wanted)
        log.info("created schedule %s", EXPIRY_SCHEDULE_ID)
    except ScheduleAlreadyRunningError:

        def to_settings(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(EXPIRY_SCHEDULE_ID).update(to_settings)
