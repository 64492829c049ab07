"""Pydantic schemas of maintenance plans (each a Temporal Schedule) and their runs."""

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field, model_validator

from api.schemas.catalog import Input, Label, Name, Output

EXAMPLE = {
    "name": "Boiler service",
    "product_id": "0b9e3c52-6f1e-4d8e-9d3a-2f4a1c7e5b10",
    "every_days": 180,
    "lead_days": 14,
    "skills": ["gas"],
    "parts": ["filter kit"],
}


class MaintenancePlanCreate(Input):
    """A preventive-maintenance plan: the assets (every asset of `product_id`, or the listed
    `asset_ids`), how often each is maintained (`every_days`), how many days ahead its case
    opens (`lead_days`), and the visit's skills and parts."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: Name
    product_id: uuid.UUID | None = None
    asset_ids: list[uuid.UUID] = Field([], max_length=1000)
    every_days: int = Field(ge=1, le=3660)
    lead_days: int = Field(0, ge=0, le=365)
    skills: list[Label] = Field([], max_length=20)
    parts: list[Label] = Field([], max_length=50)

    @model_validator(mode="after")
    def _one_scope(self) -> "MaintenancePlanCreate":
        if bool(self.product_id) == bool(self.asset_ids):
            raise ValueError("give product_id or asset_ids (one of them)")
        self.asset_ids = list(dict.fromkeys(self.asset_ids))
        return self


class MaintenanceRunRead(Output):
    """What the plan's last run found due and how many cases it opened."""

    at: datetime
    assets_due: int
    cases_opened: int


class MaintenancePlanRead(Output):
    """A maintenance plan, its Temporal Schedule's id and next run, and its last run."""

    id: uuid.UUID
    name: str
    product_id: uuid.UUID | None
    asset_ids: list[uuid.UUID]
    every_days: int
    lead_days: int
    skills: list[str]
    parts: list[str]
    schedule_id: str
    next_run_at: datetime | None = None
    last_run: MaintenanceRunRead | None = None
    created_at: datetime


class MaintenanceTriggered(Output):
    """A run was asked for: it starts now (or right after a run still going)."""

    schedule_id: str
    triggered: bool = True
