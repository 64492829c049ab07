"""Maintenance plans: Temporal Schedules that open a case (with its work order) per asset due."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from api.collections import collection
from api.deps import Admin, ClientDep, Reader, SessionDep, SettingsDep
from api.schemas.maintenance import (
    MaintenancePlanCreate,
    MaintenancePlanRead,
    MaintenanceTriggered,
)
from api.services import maintenance_plans
from models.scheduled import MaintenancePlan

router = APIRouter(tags=["maintenance plans"])
PlanId = Annotated[uuid.UUID, Path(description="The maintenance plan id (UUID)")]


@router.post(
    "/maintenance-plans",
    status_code=201,
    response_model=MaintenancePlanRead,
    summary="Create a maintenance plan (a Temporal Schedule)",
    responses={422: {"description": "a product or asset id that does not exist (named)"}},
)
async def create_plan(
    body: MaintenancePlanCreate,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    _: Admin,
):
    """Each run of the plan's schedule (daily) opens, for every asset whose maintenance falls
    due within `lead_days` (an asset never maintained is due at once), one case on the `event`
    channel with a work order pre-filled from the asset, once per asset and due date. An
    asset counts as maintained when that work order is completed; it is next due
    `every_days` later."""
    return await maintenance_plans.create(db=db, client=client, settings=settings, body=body)


@router.get(
    "/maintenance-plans/{plan_id}",
    response_model=MaintenancePlanRead,
    summary="Read a maintenance plan, its next run and its last run",
)
async def get_plan(plan_id: PlanId, db: SessionDep, client: ClientDep, _: Reader):
    """`next_run_at` comes from the Temporal Schedule; `last_run` counts the assets the last
    run found due and the cases it opened (a second run for the same due dates opens none)."""
    return await maintenance_plans.read(db=db, client=client, plan_id=plan_id)


@router.post(
    "/maintenance-plans/{plan_id}/trigger",
    status_code=202,
    response_model=MaintenanceTriggered,
    summary="Run a maintenance plan now",
)
async def trigger_plan(plan_id: PlanId, db: SessionDep, client: ClientDep, _: Admin):
    """Triggers the plan's schedule: a run starts now, or right after one still going."""
    return await maintenance_plans.trigger(db=db, client=client, plan_id=plan_id)


# GET /maintenance-plans: the plans (their runs are read one plan at a time, above).
collection(
    router,
    "maintenance-plans",
    MaintenancePlan,
    MaintenancePlanRead,
    "maintenance plans",
    with_get=False,
)
